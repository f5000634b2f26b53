# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'
require_relative '../../../support/fake_broker'
require 'puppet_x/exportfact/view_source'

describe PuppetX::Exportfact::ViewSource do
  let(:certname) { 'node1.example.test' }
  let(:tmp) { Dir.mktmpdir('exportfact-view-spec') }
  let(:broker) { FakeBroker.new(tmp, certname: certname).start }
  let(:cache_file) { File.join(tmp, 'var', 'exportfact', 'view.json') }
  let(:settings) { { 'url' => broker.url, 'connect_timeout' => 1, 'read_timeout' => 2, 'cache_file' => cache_file } }
  let(:config) { PuppetX::Exportfact::Config.new(settings) }
  let(:body) do
    { 'environment' => 'production',
      'facts' => { 'db' => { 'url' => 'mysql://db1/nova' }, 'http_proxy' => { 'http_proxy_host' => 'alice', 'url' => 'x' } },
      'per_node' => { 'mq' => { 'host' => { 'mq1' => '10.0.0.5', 'mq2' => '10.0.0.6' } } },
      'secrets' => { 'db' => { 'password' => { 'version' => 3 } } } }
  end

  before do
    Puppet[:certname] = certname
    Puppet[:ssldir] = broker.ssldir
    Puppet[:vardir] = File.join(tmp, 'var')
    Puppet[:certificate_revocation] = 'chain'
    served = body
    broker.handler = lambda do |req, res|
      if req['If-None-Match'] == '"v1"'
        res.status = 304
      else
        FakeBroker.json(res, 200, served, 'ETag' => '"v1"')
      end
    end
  end

  after do
    broker.stop
    FileUtils.rm_rf(tmp)
  end

  def fetch
    described_class.fetch(config, PuppetX::Exportfact::Client.new(config))
  end

  it 'reads the view with this node\'s certificate and shapes the facts' do
    allow(Puppet).to receive(:warning) { |m| raise "unexpected warning: #{m}" }
    view = fetch
    expect(broker.requests.last[:cn]).to eq(certname)
    expect(view.source).to eq('broker')
    expect(view.exportfact_fact).to eq(
      'db' => { 'url' => 'mysql://db1/nova' },
      'http_proxy' => { 'http_proxy_host' => 'alice', 'url' => 'x' },
      'mq' => { 'host' => { 'mq1' => '10.0.0.5', 'mq2' => '10.0.0.6' } },
    )
    expect(view.secrets_fact).to eq('db' => { 'password' => 3 })
    expect(view.status_fact).to include('source' => 'broker', 'environment' => 'production', 'per_node' => ['mq.host'])
  end

  it 'keeps the answer in a 0600 cache and asks conditionally next time' do
    fetch
    expect(File.stat(cache_file).mode & 0o777).to eq(0o600)
    expect(File.read(cache_file)).to include('mysql://db1/nova')
    view = fetch
    expect(broker.requests.last[:headers]['if-none-match']).to eq(['"v1"'])
    expect(view.source).to eq('broker')
    expect(view.facts['db']['url']).to eq('mysql://db1/nova')
  end

  it 'falls back to the cache, with a warning saying how old it is, when no broker answers' do
    fetch
    broker.stop
    allow(Puppet).to receive(:warning)
    view = fetch
    expect(Puppet).to have_received(:warning).with(%r{broker unreachable, using the cached view from \S+ \(\d+s old\)})
    expect(view.source).to eq('cache')
    expect(view.facts['db']['url']).to eq('mysql://db1/nova')
    expect(view.status_fact).to include('source' => 'cache', 'age' => a_kind_of(Integer))
  end

  it 'falls back to the cache on a broker fault (5xx)' do
    fetch
    broker.handler = ->(_req, res) { FakeBroker.json(res, 503, 'error' => { 'code' => 'store_unavailable', 'message' => 'db down' }) }
    allow(Puppet).to receive(:warning)
    expect(fetch.source).to eq('cache')
  end

  it 'has no facts and says so without a cache' do
    broker.stop
    allow(Puppet).to receive(:warning)
    view = fetch
    expect(Puppet).to have_received(:warning).with(%r{no cached view})
    expect(view.source).to eq('none')
    expect(view.exportfact_fact).to eq({})
  end

  it 'ignores a cache written for another certname' do
    fetch
    Puppet[:certname] = 'other.example.test'
    expect(PuppetX::Exportfact::ViewCache.new(config).read).to be_nil
  end

  it 'fails over to the next URL' do
    dead = TCPServer.new('127.0.0.1', 0)
    dead_port = dead.addr[1]
    dead.close
    settings['url'] = ["https://127.0.0.1:#{dead_port}", broker.url]
    expect(fetch.source).to eq('broker')
  end

  describe 'top-level facts' do
    it 'shows single facts, skipping names two categories share and names already taken' do
      view = fetch
      top, ambiguous = view.top_level(taken: ['http_proxy_host'])
      expect(top).to eq({})
      expect(ambiguous).to eq(['url (db, http_proxy)'])
      top, = view.top_level(taken: [])
      expect(top).to eq('http_proxy_host' => 'alice')
    end

    it 'never takes a core fact or a Puppet variable' do
      taken = PuppetX::Exportfact::FactNames.taken
      expect(PuppetX::Exportfact::FactNames.match?(taken, 'trusted')).to be true
      expect(PuppetX::Exportfact::FactNames.match?(taken, 'exportfact')).to be true
      expect(PuppetX::Exportfact::FactNames.match?(taken, 'http_proxy_host')).to be false
    end
  end

  describe 'what left the view (exportfact_status removed, removed_exporters)' do
    let(:served) { Marshal.load(Marshal.dump(body)) }

    before do
      broker.handler = lambda do |req, res|
        etag = %("#{Digest::SHA256.hexdigest(JSON.generate(served))[0, 12]}")
        req['If-None-Match'] == etag ? res.status = 304 : FakeBroker.json(res, 200, served, 'ETag' => etag)
      end
    end

    def names_file
      File.join(tmp, 'var', 'exportfact', 'names.json')
    end

    def removed(view)
      view.status_fact.slice('removed', 'removed_exporters')
    end

    it 'says nothing left on the first view, and keeps its names (never a value) in a 0600 file' do
      expect(removed(fetch)).to eq('removed' => [], 'removed_exporters' => {})
      expect(File.stat(names_file).mode & 0o777).to eq(0o600)
      expect(JSON.parse(File.read(names_file)))
        .to include('names' => ['db.password', 'db.url', 'http_proxy.http_proxy_host', 'http_proxy.url', 'mq.host'],
                    'exporters' => { 'mq.host' => ['mq1', 'mq2'] })
      expect(File.read(names_file)).not_to include('mysql://db1/nova')
    end

    it 'names, for one run, the facts gone and the per-node exporters gone' do
      fetch
      served['facts']['db'].delete('url')
      served['per_node']['mq']['host'].delete('mq2')
      served['secrets'].delete('db')
      expect(removed(fetch)).to eq('removed' => ['db.password', 'db.url'], 'removed_exporters' => { 'mq.host' => ['mq2'] })
      expect(removed(fetch)).to eq('removed' => [], 'removed_exporters' => {})
    end

    it 'does not name a per-node fact\'s exporter in removed_exporters when the whole fact left' do
      fetch
      served['per_node'].delete('mq')
      expect(removed(fetch)).to eq('removed' => ['mq.host'], 'removed_exporters' => {})
    end

    it 'says nothing from the cache, and tells the next broker view what left since the last one' do
      fetch
      served['facts']['db'].delete('url')
      broker.stop
      allow(Puppet).to receive(:warning)
      expect(fetch.status_fact).not_to have_key('removed')
      expect(removed(described_class.fetch(config, answering(served)))).to eq('removed' => ['db.url'], 'removed_exporters' => {})
    end

    it 'works without the view cache' do
      settings['cache'] = false
      fetch
      served['facts']['db'].delete('url')
      expect(removed(fetch)).to eq('removed' => ['db.url'], 'removed_exporters' => {})
    end

    it 'ignores names kept for another certname' do
      fetch
      Puppet[:certname] = 'other.example.test'
      served['facts']['db'].delete('url')
      expect(removed(described_class.fetch(config, answering(served)))).to eq('removed' => [], 'removed_exporters' => {})
    end

    # A client whose broker answers with this view (for a broker back after an outage, or a
    # node with another certname, which the fake broker has no certificate for).
    def answering(view)
      instance_double(PuppetX::Exportfact::Client, view: { status: 200, etag: '"x"', body: view, url: 'https://b' }, close: nil)
    end
  end
end
