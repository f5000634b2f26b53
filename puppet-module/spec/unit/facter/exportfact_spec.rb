# frozen_string_literal: true

require 'spec_helper'
require 'facter'
require_relative '../../support/memory_broker'

# lib/facter/exportfact.rb, loaded as Facter loads a custom fact, against a fake broker.
describe 'the exportfact facts' do
  let(:broker) { MemoryBroker.new }
  let(:fact_file) { File.join(ExportfactSpec::MODULE_ROOT, 'lib', 'facter', 'exportfact.rb') }

  before do
    # The file defines its facts only under Puppet with its settings read (puppet apply,
    # agent, facts); rspec-puppet sets them without marking them read.
    allow(Puppet.settings).to receive(:global_defaults_initialized?).and_return(true)
    broker.setup_puppet
    broker.facts['db.url'] = { 'value' => 'mysql://db1/nova', 'version' => 1, 'exporter' => 'db1.example.test' }
    broker.facts['http_proxy.http_proxy_host'] = { 'value' => 'alice', 'version' => 1, 'exporter' => 'alice.example.test' }
    broker.facts['mq.host'] = { 'values' => { 'mq1' => '10.0.0.5' }, 'multi' => true, 'version' => 1 }
    broker.facts['web.os'] = { 'value' => 'not the os fact', 'version' => 1, 'exporter' => 'web1.example.test' }
    broker.secrets['db.password'] = { 'value' => 'canary-fact-spec-3c1', 'version' => 4 }
    PuppetX::Exportfact::ViewSource.reset if defined?(PuppetX::Exportfact::ViewSource)
    Facter.clear
  end

  after do
    Facter.clear
    broker.stop
  end

  # Loads the fact file and resolves the facts it defines.
  def resolve(*names)
    load fact_file
    names.to_h { |n| [n, Facter.fact(n)&.value] }
  end

  it 'shows what this node may read, where it came from, and secrets by version only' do
    facts = resolve(:exportfact, :exportfact_secrets, :exportfact_status)
    expect(facts[:exportfact]).to eq(
      'db' => { 'url' => 'mysql://db1/nova' }, 'http_proxy' => { 'http_proxy_host' => 'alice' },
      'mq' => { 'host' => { 'mq1' => '10.0.0.5' } }, 'web' => { 'os' => 'not the os fact' }
    )
    expect(facts[:exportfact_secrets]).to eq('db' => { 'password' => 4 })
    expect(facts[:exportfact_status]).to include('source' => 'broker', 'url' => broker.fake.url, 'per_node' => ['mq.host'])
    expect(facts.to_s).not_to include('canary-fact-spec-3c1')
    expect(broker.calls).to eq([['GET', '/v1/facts']])
  end

  it 'adds single facts as top-level facts, never a core fact or a per-node one' do
    load fact_file
    expect(Facter.fact(:http_proxy_host).value).to eq('alice')
    expect(Facter.fact(:url).value).to eq('mysql://db1/nova')
    expect(Facter.fact(:host)).to be_nil
    expect(Facter.fact(:os)&.value).not_to eq('not the os fact')
  end

  it 'never shadows another custom fact of the same name, loaded before or after it' do
    Facter.add(:http_proxy_host) { setcode { 'from another module' } }
    load fact_file
    Facter.add(:url) { setcode { 'loaded later' } }
    expect(Facter.fact(:http_proxy_host).value).to eq('from another module')
    expect(Facter.fact(:url).value).to eq('loaded later')
  end

  it 'resolves a top-level fact without looking for a core fact of its name (Facter\'s slow path for weights <= 0)' do
    allow(Facter).to receive(:core_value).and_call_original
    load fact_file
    expect(Facter.fact(:http_proxy_host).value).to eq('alice')
    expect(Facter).not_to have_received(:core_value)
  end

  it 'names, for one run, what left the view since the previous run (a deactivated exporter\'s facts)' do
    expect(resolve(:exportfact_status)[:exportfact_status]).to include('removed' => [], 'removed_exporters' => {})
    broker.facts.delete('db.url')
    broker.facts['mq.host']['values'] = { 'mq2' => '10.0.0.6' }
    next_run = lambda do
      PuppetX::Exportfact::ViewSource.reset
      Facter.clear
      resolve(:exportfact_status)[:exportfact_status]
    end
    expect(next_run.call).to include('removed' => ['db.url'], 'removed_exporters' => { 'mq.host' => ['mq1'] })
    expect(next_run.call).to include('removed' => [], 'removed_exporters' => {})
  end

  it 'asks the broker once, however often Facter loads the file' do
    2.times { resolve(:exportfact) }
    expect(broker.calls.count { |c| c == ['GET', '/v1/facts'] }).to eq(1)
  end

  it 'has only the status fact, saying why, when no broker answers and nothing is cached' do
    broker.setup_puppet(url: 'https://127.0.0.1:9')
    allow(Puppet).to receive(:warning)
    facts = resolve(:exportfact, :exportfact_status)
    expect(facts[:exportfact]).to be_nil
    expect(facts[:exportfact_status]).to include('source' => 'none', 'error' => %r{exportfact broker unreachable})
    expect(Puppet).to have_received(:warning).with(%r{broker unreachable and no cached view})
  end

  it 'does not stop the run on a broken exportfact.yaml: the status says what is wrong' do
    File.write(File.join(Puppet[:confdir], 'exportfact.yaml'), "url: http://plain.example.test\n")
    allow(Puppet).to receive(:warning)
    expect(resolve(:exportfact_status)[:exportfact_status]).to include('source' => 'none', 'error' => %r{must start with https://})
    expect(Puppet).to have_received(:warning).with(%r{exportfact: facts unavailable: .*must start with https://})
  end
end
