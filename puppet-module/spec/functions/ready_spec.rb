# frozen_string_literal: true

require 'spec_helper'

VIEW_FACTS = {
  'exportfact' => {
    'db' => { 'keystone_url' => 'mysql://db1/keystone', 'settings' => { 'a' => 1 } },
    'rabbitmq' => { 'host' => { 'mq1.example.test' => '10.0.0.5', 'mq2.example.test' => '10.0.0.6' } },
    'qpid' => { 'host' => {} },
  },
  'exportfact_secrets' => { 'db' => { 'password' => 3 } },
  'exportfact_status' => { 'source' => 'broker', 'per_node' => ['qpid.host', 'rabbitmq.host'] },
}.freeze

describe 'exportfact::ready' do
  let(:facts) { VIEW_FACTS }

  it { is_expected.to run.with_params('db.keystone_url').and_return(true) }
  it { is_expected.to run.with_params(['db.keystone_url', 'rabbitmq.host']).and_return(true) }
  it { is_expected.to run.with_params(['db.keystone_url', 'db.nova_url']).and_return(false) }
  it { is_expected.to run.with_params('rabbitmq.host>=2').and_return(true) }
  it { is_expected.to run.with_params('rabbitmq.host>=3').and_return(false) }
  it { is_expected.to run.with_params('fact' => 'rabbitmq.host', 'min' => 2).and_return(true) }
  it { is_expected.to run.with_params('qpid.host').and_return(false) }
  it { is_expected.to run.with_params('db.password').and_return(true) }
  it('counts a single hash-valued fact once') { is_expected.to run.with_params('db.settings>=2').and_return(false) }
  # The signature (Exportfact::Requirements) refuses what is not a requirement, naming the parameter.
  it { is_expected.to run.with_params('not a key').and_raise_error(ArgumentError, %r{parameter 'requirements' expects an Exportfact::Requirements}) }
  it { is_expected.to run.with_params('fact' => 'db.url', 'min' => 0).and_raise_error(ArgumentError, %r{entry 'min' expects an Integer\[1\] value, got Integer\[0, 0\]}) }

  context 'without exportfact facts (first run, broker down, no cache)' do
    let(:facts) { { 'exportfact_status' => { 'source' => 'none' } } }

    it { is_expected.to run.with_params('db.keystone_url').and_return(false) }
    it { is_expected.to run.with_params([]).and_return(true) }
  end
end

describe 'exportfact::missing' do
  let(:facts) { VIEW_FACTS }

  it { is_expected.to run.with_params(['db.keystone_url', 'rabbitmq.host>=2']).and_return([]) }
  it do
    is_expected.to run.with_params(['db.nova_url', 'rabbitmq.host>=3', 'qpid.host'])
                      .and_return(['db.nova_url (absent)', 'rabbitmq.host (2 of 3 nodes)', 'qpid.host (absent)'])
  end
end

describe 'exportfact::value' do
  let(:facts) { VIEW_FACTS }

  it { is_expected.to run.with_params('db.keystone_url').and_return('mysql://db1/keystone') }
  it { is_expected.to run.with_params('rabbitmq.host').and_return('mq1.example.test' => '10.0.0.5', 'mq2.example.test' => '10.0.0.6') }
  it { is_expected.to run.with_params('db.nova_url').and_return(nil) }
  it { is_expected.to run.with_params('db.nova_url', 'none').and_return('none') }
  it { is_expected.to run.with_params('nodot').and_raise_error(ArgumentError) }
end
