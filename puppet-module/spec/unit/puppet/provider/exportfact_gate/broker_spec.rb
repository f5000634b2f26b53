# frozen_string_literal: true

require 'spec_helper'
require_relative '../../../../support/apply'

describe Puppet::Type.type(:exportfact_gate).provider(:broker) do
  include_context 'with a memory broker'

  let(:keystone_ref) { 'Exportfact_gate[role::keystone]' }

  def gate(name = 'role::keystone', missing: ['db.keystone_url'], requires: ['db.keystone_url', 'rabbitmq.host>=2'])
    Puppet::Type.type(:exportfact_gate).new(title: name, open: missing.empty?, requires: requires, missing: missing)
  end

  def requirement(category, name, min = 1)
    { 'category' => category, 'name' => name, 'min' => min }
  end

  def gate_puts
    broker.requests.select { |r| r[:method] == 'PUT' && r[:raw_path].start_with?('/v1/gates/') }
  end

  it 'reports a new gate with the node\'s certificate: names only, never a value' do
    broker.facts['db.keystone_url'] = { 'value' => 'mysql://canary-gate-spec/keystone', 'version' => 1, 'exporter' => 'db1' }
    report = apply(gate)
    expect(messages(report, keystone_ref)).to eq(['reported waiting for db.keystone_url'])
    put = gate_puts.first
    expect([put[:raw_path], put[:cn]]).to eq(['/v1/gates/role%3A%3Akeystone', MemoryBroker::CERTNAME])
    expect(JSON.parse(put[:body])).to eq('open' => false,
                                         'requires' => [requirement('db', 'keystone_url'), requirement('rabbitmq', 'host', 2)],
                                         'missing' => [requirement('db', 'keystone_url')])
    expect(broker.requests.map { |r| r[:body].to_s }.join).not_to include('canary-gate-spec')
  end

  it 'percent-encodes any name into one path segment' do
    names = ['ready db.url, mq.host>=2', 'a/b?c#d', '100% + more', '..']
    apply(*names.map { |n| gate(n) })
    expect(gate_puts.map { |r| r[:raw_path] }).to eq(['/v1/gates/ready%20db.url%2C%20mq.host%3E%3D2', '/v1/gates/a%2Fb%3Fc%23d',
                                                      '/v1/gates/100%25%20%2B%20more', '/v1/gates/%2E%2E'])
    expect(broker.gates.keys).to eq(names)
  end

  it 'sends nothing, and changes nothing, when the broker has the gate as it is' do
    apply(gate)
    broker.requests.clear
    report = apply(gate)
    expect(status(report, keystone_ref).events).to be_empty
    expect(broker.calls).to eq([['GET', '/v1/gates']])
  end

  it 'says when a gate opens, in one request for every property that changed' do
    apply(gate)
    broker.requests.clear
    report = apply(gate(missing: []))
    expect(messages(report, keystone_ref)).to contain_exactly('opened', 'missing changed [db.keystone_url] to []')
    expect(gate_puts.length).to eq(1)
    expect(broker.gates['role::keystone']).to include('open' => true, 'missing' => [])
  end

  it 'sends nothing in a noop run' do
    Puppet[:noop] = true
    report = apply(gate)
    expect(status(report, keystone_ref).events.map(&:status)).to eq(['noop'])
    expect(gate_puts).to be_empty
  ensure
    Puppet[:noop] = false
  end

  it 'fails only itself when no broker answers, as publishing does' do
    broker.setup_puppet(url: 'https://127.0.0.1:9')
    other = Puppet::Type.type(:notify).new(title: 'the rest of the run')
    report = apply(gate, other)
    expect(status(report, keystone_ref).failed).to be(true)
    expect(log_text(report)).to match(%r{cannot report gate role::keystone: exportfact broker unreachable})
    expect(status(report, 'Notify[the rest of the run]').failed).to be(false)
  end

  it 'leaves the run alone, with one warning, against a broker that takes no gate reports' do
    broker.gates_supported = false
    report = apply(gate, gate('role::nova'))
    expect(report.resource_statuses.values.map(&:failed)).to all(be(false))
    expect(report.resource_statuses.values.flat_map(&:events)).to be_empty
    expect(log_text(report).scan('takes no gate reports').length).to eq(1)
  end

  it 'forgets the gate for ensure => absent, keeping the others' do
    apply(gate, gate('role::nova'))
    absent = Puppet::Type.type(:exportfact_gate).new(title: 'role::keystone', ensure: :absent)
    apply(absent)
    expect(broker.gates.keys).to eq(['role::nova'])
  end

  it 'shares the run\'s one connection with publishing and withdrawal' do
    fact = Puppet::Type.type(:exportfact_fact).new(title: 'keystone.url', value: 'http://k')
    withdraw = Puppet::Type.type(:exportfact_withdraw).new(title: 'exportfact', view_source: 'broker')
    apply(fact, gate, gate('role::nova'), withdraw)
    expect(broker.gates.keys).to contain_exactly('role::keystone', 'role::nova')
    expect(broker.fake.connections).to eq(1)
  end
end
