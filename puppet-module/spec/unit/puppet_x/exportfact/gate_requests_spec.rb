# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'
require_relative '../../../support/fake_broker'
require 'puppet_x/exportfact/client'

# GET /v1/gates once per run: the gate provider's prefetch and the withdrawal share the list.
describe PuppetX::Exportfact::GateRequests do
  let(:tmp) { Dir.mktmpdir('exportfact-gates-spec') }
  let(:broker) { FakeBroker.new(tmp, certname: 'node1.example.test') }
  let(:gates) { [{ 'name' => 'role::a', 'open' => true, 'requires' => [], 'missing' => [] }] }
  let(:client) do
    PuppetX::Exportfact::Client.new(PuppetX::Exportfact::Config.new('url' => broker.url, 'cache_file' => File.join(tmp, 'view.json')))
  end

  before do
    Puppet[:certname] = 'node1.example.test'
    Puppet[:ssldir] = broker.ssldir
    Puppet[:certificate_revocation] = 'chain'
    broker.handler = lambda do |req, res|
      case req.path
      when '/v1/gates' then FakeBroker.json(res, 200, 'gates' => gates)
      when '/v1/gates/prune' then FakeBroker.json(res, 200, 'removed' => ['role::a'])
      else FakeBroker.json(res, 200, 'name' => 'role::b', 'open' => false, 'changed' => true)
      end
    end
    broker.start
  end

  after do
    broker.stop
    FileUtils.rm_rf(tmp)
  end

  it 'asks GET /v1/gates once per run, keeping the list as this client reports and prunes' do
    expect(client.gates.map { |g| g['name'] }).to eq(['role::a'])
    client.report_gate('role::b', open: false, requires: [['db', 'url', 1]], missing: [['db', 'url', 1]])
    expect(client.gates.map { |g| g['name'] }).to eq(['role::a', 'role::b'])
    expect(client.gates.last).to include('open' => false, 'missing' => [{ 'category' => 'db', 'name' => 'url', 'min' => 1 }])
    client.prune_gates(['role::b'])
    expect(client.gates.map { |g| g['name'] }).to eq(['role::b'])
    expect(broker.requests.count { |r| r[:method] == 'GET' }).to eq(1)
    client.close
    client.gates
    expect(broker.requests.count { |r| r[:method] == 'GET' }).to eq(2)
  end
end
