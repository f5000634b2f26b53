# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/view_facts'

describe 'exportfact::missing' do
  let(:facts) { ExportfactSpec::VIEW_FACTS }

  it { is_expected.to run.with_params(['db.keystone_url', 'rabbitmq.host>=2']).and_return([]) }

  it do
    is_expected.to run.with_params(['db.nova_url', 'rabbitmq.host>=3', 'qpid.host'])
                      .and_return(['db.nova_url (absent)', 'rabbitmq.host (2 of 3 nodes)', 'qpid.host (absent)'])
  end
end
