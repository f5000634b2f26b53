# frozen_string_literal: true

require 'spec_helper'
require_relative '../../../../support/apply'

describe Puppet::Type.type(:exportfact_withdraw).provider(:broker) do
  include_context 'with a memory broker'
  let(:me) { MemoryBroker::CERTNAME }

  before do
    broker.facts['db.url'] = { 'value' => 'kept', 'version' => 1, 'exporter' => me }
    broker.facts['db.old'] = { 'value' => 'stale', 'version' => 3, 'exporter' => me }
    broker.facts['mq.host'] = { 'values' => { me => 'mq1', 'mq2.example.test' => 'mq2' }, 'multi' => true, 'version' => 2 }
    broker.facts['other.fact'] = { 'value' => 'theirs', 'version' => 1, 'exporter' => 'db2.example.test' }
  end

  def withdraw(view_source = 'broker')
    Puppet::Type.type(:exportfact_withdraw).new(title: 'exportfact', view_source: view_source)
  end

  def declared
    Puppet::Type.type(:exportfact_fact).new(title: 'db.url', value: 'kept')
  end

  def reported_gate
    { 'open' => true, 'requires' => [{ 'category' => 'db', 'name' => 'url', 'min' => 1 }], 'missing' => [] }
  end

  it 'withdraws, in one request, what this node exports and the catalog does not declare' do
    report = apply(declared, withdraw)
    expect(messages(report, 'Exportfact_withdraw[exportfact]'))
      .to eq(['withdrew db.old, mq.host (no longer declared in this node\'s catalog)'])
    expect(broker.calls.count { |c| c == ['POST', '/v1/exports/prune'] }).to eq(1)
    expect(JSON.parse(broker.requests.find { |r| r[:path] == '/v1/exports/prune' }[:body]))
      .to eq('keep' => [{ 'category' => 'db', 'name' => 'url' }])
    expect(broker.facts.keys).to contain_exactly('db.url', 'mq.host', 'other.fact')
    expect(broker.facts['mq.host']['values']).to eq('mq2.example.test' => 'mq2')
  end

  it 'keeps the node-held secrets the catalog declares' do
    broker.secrets['db.root_password'] = { 'value' => 'x' * 12, 'version' => 1 }
    broker.secrets['db.old_token'] = { 'value' => 'y' * 12, 'version' => 1 }
    source = File.join(broker.tmp, 'root.pw')
    File.write(source, 'x' * 12)
    secret = Puppet::Type.type(:exportfact_secret_export).new(title: 'db.root_password', source: source)
    apply(declared, secret, withdraw)
    expect(broker.secrets.keys).to eq(['db.root_password'])
  end

  it 'is in sync, and prunes nothing, when everything exported is declared' do
    broker.facts.delete('db.old')
    broker.facts.delete('mq.host')
    report = apply(declared, withdraw)
    expect(status(report, 'Exportfact_withdraw[exportfact]').events).to be_empty
    expect(broker.calls).not_to include(['POST', '/v1/exports/prune'])
  end

  it 'only reports what it would withdraw in a noop run' do
    Puppet[:noop] = true
    broker.gates['role::old'] = reported_gate
    report = apply(declared, withdraw)
    expect(status(report, 'Exportfact_withdraw[exportfact]').events.map(&:status)).to eq(['noop', 'noop'])
    expect(log_text(report)).to match(%r{(current_value|would withdraw) .*db\.old.*\(noop\)})
    expect(log_text(report)).to match(%r{(current_value|would forget the gate reports) .*role::old.*\(noop\)})
    expect(broker.calls.map(&:first)).to all(eq('GET'))
    expect(broker.facts).to have_key('db.old')
    expect(broker.gates).to have_key('role::old')
  ensure
    Puppet[:noop] = false
  end

  it 'withdraws nothing, and forgets no gate, without asking, when the view came from the cache' do
    broker.gates['role::old'] = reported_gate
    report = apply(withdraw('cache'))
    expect(status(report, 'Exportfact_withdraw[exportfact]').events).to be_empty
    expect(broker.calls).to be_empty
    expect(broker.facts).to have_key('db.old')
    expect(broker.gates).to have_key('role::old')
  end

  [[:tags, 'only_this'], [:skip_tags, 'unrelated']].each do |setting, value|
    it "withdraws nothing, and forgets no gate, without asking, in a run limited by #{setting}" do
      Puppet[setting] = value
      broker.gates['role::old'] = reported_gate
      withdraw_only = withdraw
      withdraw_only.tag(value) if setting == :tags
      apply(withdraw_only)
      expect(broker.calls).to be_empty
      expect(broker.facts).to have_key('db.old')
      expect(broker.gates).to have_key('role::old')
    end
  end

  describe 'gates' do
    def gate(name)
      Puppet::Type.type(:exportfact_gate).new(title: name, open: true, requires: ['db.url'], missing: [])
    end

    it 'forgets, in one request after the run\'s reports, the gates the catalog no longer has' do
      broker.gates['role::old'] = reported_gate
      broker.gates['role::kept'] = reported_gate
      report = apply(declared, gate('role::kept'), gate('role::new'), withdraw)
      expect(messages(report, 'Exportfact_withdraw[exportfact]'))
        .to include('forgot the gate reports role::old (no longer in this node\'s catalog)')
      expect(broker.calls.count { |c| c == ['POST', '/v1/gates/prune'] }).to eq(1)
      expect(JSON.parse(broker.requests.find { |r| r[:path] == '/v1/gates/prune' }[:body])).to eq('keep' => ['role::kept', 'role::new'])
      expect(broker.gates.keys).to contain_exactly('role::kept', 'role::new')
    end

    it 'forgets every gate of a node whose catalog has none left' do
      broker.gates['role::old'] = reported_gate
      apply(declared, withdraw)
      expect(broker.gates).to be_empty
    end

    it 'forgets no gate when a report of this run failed (the run failed)' do
      broker.gates['role::old'] = reported_gate
      bad = gate('role::bad')
      broker.fake.handler = lambda do |req, res|
        next MemoryBroker.error(res, 503, 'store_unavailable', 'db down') if req.request_method == 'PUT'

        broker.send(:handle, req, res)
      end
      report = apply(bad, withdraw)
      expect(status(report, 'Exportfact_withdraw[exportfact]').skipped).to be(true)
      expect(broker.gates).to have_key('role::old')
    end

    it 'asks nothing more of a broker that takes no gate reports' do
      broker.gates_supported = false
      report = apply(declared, withdraw)
      expect(status(report, 'Exportfact_withdraw[exportfact]').failed).to be(false)
      expect(log_text(report)).not_to include('not forgetting gates')
    end
  end

  it 'is skipped when a publish of this run failed' do
    broker.facts['db.taken'] = { 'value' => 'theirs', 'version' => 1, 'exporter' => 'db2.example.test' }
    failing = Puppet::Type.type(:exportfact_fact).new(title: 'db.taken', value: 'mine')
    report = apply(declared, failing, withdraw)
    expect(status(report, 'Exportfact_withdraw[exportfact]').skipped).to be(true)
    expect(broker.facts).to have_key('db.old')
  end

  it 'withdraws nothing, with a warning, when the broker went away' do
    broker.setup_puppet(url: 'https://127.0.0.1:9')
    report = apply(withdraw)
    expect(status(report, 'Exportfact_withdraw[exportfact]').failed).to be(false)
    expect(log_text(report)).to match(%r{not withdrawing undeclared facts: exportfact broker unreachable})
  end

  it 'shares the run\'s one connection with the publishing resources' do
    apply(declared, Puppet::Type.type(:exportfact_fact).new(title: 'db.new', value: 'n'), withdraw)
    expect(broker.calls.map(&:first)).to include('PUT', 'POST')
    expect(broker.fake.connections).to eq(1)
  end
end
