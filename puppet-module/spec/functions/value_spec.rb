# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/view_facts'

describe 'exportfact::value' do
  let(:facts) { ExportfactSpec::VIEW_FACTS }

  it { is_expected.to run.with_params('db.keystone_url').and_return('mysql://db1/keystone') }
  it { is_expected.to run.with_params('rabbitmq.host').and_return('mq1.example.test' => '10.0.0.5', 'mq2.example.test' => '10.0.0.6') }
  it { is_expected.to run.with_params('db.nova_url').and_return(nil) }
  it { is_expected.to run.with_params('db.nova_url', 'none').and_return('none') }
  it { is_expected.to run.with_params('nodot').and_raise_error(ArgumentError) }
end
