# frozen_string_literal: true

require 'spec_helper'

describe 'kickstack::role::mq', type: :class do
  let(:node) { 'mq1.example.test' }
  let(:facts) { {} }

  it { is_expected.to contain_exportfact_fact('rabbitmq.host').with(value: 'mq1.example.test', multi: true) }
  it { is_expected.to contain_exportfact_fact('mq.rpc_backend').with(value: 'rabbitmq', multi: true) }

  context 'when switched to qpid' do
    let(:pre_condition) { "class { 'kickstack': rpc_backend => 'qpid' }" }

    it { is_expected.to contain_exportfact_fact('qpid.host') }
    it { is_expected.not_to contain_exportfact_fact('rabbitmq.host') }
  end
end
