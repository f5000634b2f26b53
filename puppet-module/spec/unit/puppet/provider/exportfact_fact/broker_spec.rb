# frozen_string_literal: true

require 'spec_helper'
require_relative '../../../../support/apply'

describe Puppet::Type.type(:exportfact_fact).provider(:broker) do
  include_context 'with a memory broker'

  def fact(title, params = {})
    Puppet::Type.type(:exportfact_fact).new({ title: title }.merge(params))
  end

  it 'publishes a new fact with this node\'s certificate and reports the value' do
    report = apply(fact('db.url', value: 'mysql://db1/nova'))
    put = broker.requests.find { |r| r[:method] == 'PUT' }
    expect([put[:path], JSON.parse(put[:body]), put[:cn]])
      .to eq(['/v1/facts/db/url', { 'value' => 'mysql://db1/nova', 'sensitive' => false, 'multi' => false }, MemoryBroker::CERTNAME])
    expect(messages(report, 'Exportfact_fact[db.url]')).to eq(['published "mysql://db1/nova"'])
    expect(broker.facts['db.url']).to include('value' => 'mysql://db1/nova', 'exporter' => MemoryBroker::CERTNAME)
  end

  it 'changes nothing when the broker holds the same value, whatever the key order' do
    apply(fact('db.settings', value: { 'a' => 1, 'b' => [1, 2] }))
    report = apply(fact('db.settings', value: { 'b' => [1, 2], 'a' => 1 }))
    expect(status(report, 'Exportfact_fact[db.settings]').events).to be_empty
    expect(broker.calls.count { |m, _| m == 'PUT' }).to eq(1)
  end

  it 'publishes a changed value, saying what it was' do
    apply(fact('db.url', value: 'old'))
    report = apply(fact('db.url', value: 'new'))
    expect(messages(report, 'Exportfact_fact[db.url]')).to eq(['changed "old" to "new"'])
    expect(broker.facts['db.url']).to include('value' => 'new', 'version' => 2)
  end

  it 'publishes a per-node fact and compares this node\'s own value only' do
    broker.facts['mq.host'] = { 'values' => { 'mq2.example.test' => 'mq2' }, 'multi' => true, 'version' => 1 }
    report = apply(fact('mq.host', value: 'mq1', multi: true))
    expect(messages(report, 'Exportfact_fact[mq.host]')).to eq(['published "mq1" (per-node)'])
    expect(broker.facts['mq.host']['values']).to eq('mq2.example.test' => 'mq2', MemoryBroker::CERTNAME => 'mq1')
    expect(status(apply(fact('mq.host', value: 'mq1', multi: true)), 'Exportfact_fact[mq.host]').events).to be_empty
  end

  it 'fails only itself and its dependents when another node exports the fact, naming it' do
    broker.facts['db.url'] = { 'value' => 'theirs', 'version' => 1, 'exporter' => 'db2.example.test' }
    mine = fact('db.url', value: 'mine')
    dependent = Puppet::Type.type(:notify).new(name: 'after', require: mine.ref)
    report = apply(mine, dependent, fact('db.other', value: 'x'))
    expect(status(report, 'Exportfact_fact[db.url]').failed).to be(true)
    expect(status(report, 'Notify[after]').skipped).to be(true)
    expect(broker.facts['db.other']['value']).to eq('x')
    expect(log_text(report)).to match(%r{cannot publish db.url: another node already exports it \(.*db2.example.test\)})
    expect(broker.facts['db.url']['value']).to eq('theirs')
  end

  it 'fails with a clear message when the fact has the other kind' do
    broker.facts['mq.host'] = { 'values' => { 'mq2.example.test' => 'mq2' }, 'multi' => true, 'version' => 1 }
    report = apply(fact('mq.host', value: 'mq1'))
    expect(log_text(report)).to include('cannot publish mq.host as single: it is published with the other kind')
  end

  it 'fails each resource, not the run, when no broker answers' do
    broker.setup_puppet(url: 'https://127.0.0.1:9')
    report = apply(fact('db.url', value: 'x'), Puppet::Type.type(:notify).new(name: 'independent'))
    expect(status(report, 'Exportfact_fact[db.url]').failed).to be(true)
    expect(status(report, 'Notify[independent]').failed).to be(false)
    expect(log_text(report)).to match(%r{exportfact: cannot publish db.url: exportfact broker unreachable \(https://127.0.0.1:9: })
  end

  it 'withdraws with ensure => absent, and asks nothing more of an absent fact' do
    apply(fact('db.url', value: 'x'))
    report = apply(fact('db.url', ensure: :absent))
    expect(messages(report, 'Exportfact_fact[db.url]')).to eq(['withdrawn'])
    expect(broker.facts).to be_empty
    broker.requests.clear
    apply(fact('db.url', ensure: :absent))
    expect(broker.calls).not_to include(['DELETE', '/v1/facts/db/url'])
  end

  it 'refuses a Sensitive value without publishing or showing it' do
    resource = Puppet::Resource.new(:exportfact_fact, 'db.password', parameters: { value: 'hunter2-canary' },
                                                                     sensitive_parameters: [:value])
    report = apply(resource.to_ral)
    expect(status(report, 'Exportfact_fact[db.password]').failed).to be(true)
    expect(log_text(report)).to include('refusing a Sensitive value')
    expect(log_text(report) + report.to_data_hash.to_json).not_to include('hunter2-canary')
    expect(broker.calls.map(&:first)).not_to include('PUT')
  end

  it 'looks at the broker once per run and keeps one connection for all of it' do
    report = apply(fact('db.a', value: 1), fact('db.b', value: 2), fact('db.c', value: 3))
    expect(report.status).to eq('changed')
    expect(broker.calls.count { |c| c == ['GET', '/v1/exports'] }).to eq(1)
    expect(broker.calls.count { |m, _| m == 'PUT' }).to eq(3)
    expect(broker.fake.connections).to eq(1)
  end
end
