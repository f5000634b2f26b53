# frozen_string_literal: true

require 'spec_helper'

describe 'exportfact::requirement_text' do
  it { is_expected.to run.with_params('db.url').and_return('db.url') }
  it { is_expected.to run.with_params('db.url >= 1').and_return('db.url') }
  it { is_expected.to run.with_params('mq.host>=2').and_return('mq.host>=2') }
  it { is_expected.to run.with_params('fact' => 'mq.host', 'min' => 3).and_return('mq.host>=3') }
end
