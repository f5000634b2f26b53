# frozen_string_literal: true

require 'spec_helper'

# exportfact::gate, through the example roles (puppet-module/examples/kickstack).
describe 'kickstack::role::keystone', type: :class do
  let(:node) { 'keystone.example.test' }

  context 'when the database is not known yet' do
    let(:facts) { { 'exportfact' => {}, 'exportfact_status' => { 'source' => 'broker', 'per_node' => [] } } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_file('/srv/kickstack/keystone.conf') }
    it { is_expected.not_to contain_exportfact_fact('keystone.url') }

    it 'shows what it waits for as a resource of the agent\'s run' do
      is_expected.to contain_notify('exportfact gate kickstack::role::keystone')
        .with_message('exportfact: kickstack::role::keystone waits for db.keystone_url (absent), mq.rpc_backend (absent)')
    end

    it 'tells the broker what it waits for, at apply time' do
      is_expected.to contain_exportfact_gate('kickstack::role::keystone')
        .with(open: false, requires: ['db.keystone_url', 'mq.rpc_backend'], missing: ['db.keystone_url', 'mq.rpc_backend'])
    end
  end

  context 'when the view came from the cache' do
    let(:facts) { { 'exportfact' => {}, 'exportfact_status' => { 'source' => 'cache' } } }

    it { is_expected.to contain_notify('exportfact gate kickstack::role::keystone').with_message(%r{\(exportfact view from cache\)\z}) }
  end

  context 'when the database and a queue are known' do
    let(:facts) do
      {
        'exportfact' => {
          'db' => { 'keystone_url' => 'mysql://db1/keystone' },
          'mq' => { 'rpc_backend' => { 'mq1' => 'rabbitmq', 'mq2' => 'qpid', 'mq3' => 'qpid' } },
          'rabbitmq' => { 'host' => { 'mq1' => 'mq1' } },
          'qpid' => { 'host' => { 'mq2' => 'mq2', 'mq3' => 'mq3' } },
        },
        'exportfact_status' => { 'source' => 'broker', 'per_node' => ['mq.rpc_backend', 'qpid.host', 'rabbitmq.host'] },
      }
    end

    it { is_expected.to compile.with_all_deps }
    it { is_expected.not_to contain_notify('exportfact gate kickstack::role::keystone') }
    it { is_expected.to contain_exportfact_gate('kickstack::role::keystone').with(open: true, missing: []) }

    it 'configures the service with the backend most queue nodes run' do
      is_expected.to contain_file('/srv/kickstack/keystone.conf')
        .with_content(%r{^database = mysql://db1/keystone$})
        .with_content(%r{^rpc_backend = qpid$})
        .with_content(%r{^mq_hosts = mq2,mq3$})
    end

    it { is_expected.to contain_exportfact_fact('keystone.url').with_value('http://keystone.example.test:5000/v3').that_requires('File[/srv/kickstack/keystone.conf]') }
  end
end
