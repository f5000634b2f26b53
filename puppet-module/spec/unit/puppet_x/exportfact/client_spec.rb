# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'
require_relative '../../../support/fake_broker'
require_relative '../../../support/silent_listener'
require 'puppet_x/exportfact/client'
require 'puppet_x/exportfact/run_client'

# A broker that does not answer costs a run one connect_timeout/read_timeout, not one per
# request: once a URL failed in this run, later requests (from any client of the process)
# skip it at once and fail over, or fail as unreachable.
describe PuppetX::Exportfact::Client do
  let(:certname) { 'node1.example.test' }
  let(:tmp) { Dir.mktmpdir('exportfact-client-spec') }
  let(:broker) { FakeBroker.new(tmp, certname: certname) }
  let(:silent) { SilentListener.new }
  let(:settings) { { 'connect_timeout' => 1, 'read_timeout' => 1, 'cache_file' => File.join(tmp, 'view.json') } }

  def client(urls)
    described_class.new(PuppetX::Exportfact::Config.new(settings.merge('url' => urls)))
  end

  # Every request a run's providers and functions make, one after the other.
  def run_requests(client)
    [-> { client.view }, -> { client.exports }, -> { client.gates }, -> { client.secret('app', 'db_password') },
     -> { client.publish('db', 'url', 'x') }].map do |call|
      call.call
      nil
    rescue PuppetX::Exportfact::Error => e
      e.message
    end
  end

  before do
    Puppet[:certname] = certname
    Puppet[:ssldir] = broker.ssldir
    Puppet[:certificate_revocation] = 'chain'
    allow(PuppetX::Exportfact::Unanswered).to receive(:record).and_call_original
  end

  after do
    silent.stop
    broker.stop
    FileUtils.rm_rf(tmp)
  end

  it 'asks a listener that never answers once per run, whichever client asks' do
    first = client([silent.url])
    errors = run_requests(first) + run_requests(client([silent.url]))
    expect(silent.accepted).to eq(1)
    expect(PuppetX::Exportfact::Unanswered).to have_received(:record).once
    expect(errors[0]).to match(%r{exportfact broker unreachable \(https://127.0.0.1:\d+: no connection within 1s\)})
    expect(errors.drop(1)).to all(match(%r{not asked again, no answer earlier in this run \(no connection within 1s\)}))
  end

  it 'tries a port that refuses connections once per run' do
    url = closed_port_url
    errors = run_requests(client([url]))
    expect(PuppetX::Exportfact::Unanswered).to have_received(:record).once
    expect(errors).to all(match(%r{exportfact broker unreachable}))
    expect(errors.drop(1)).to all(include('not asked again'))
  end

  it 'fails over to the next URL at once after the first timeout' do
    broker.handler = ->(_req, res) { FakeBroker.json(res, 200, 'exports' => []) }
    broker.start
    c = client([silent.url, broker.url])
    3.times { expect(c.exports).to eq([]) }
    expect(silent.accepted).to eq(1)
    expect(broker.requests.length).to eq(3)
    expect(c.last_url).to eq(broker.url)
  end

  it 'asks a broker that answered with an error again (it answered)' do
    broker.handler = ->(_req, res) { FakeBroker.json(res, 503, 'error' => { 'code' => 'store_unavailable', 'message' => 'db down' }) }
    broker.start
    c = client([broker.url])
    2.times { expect { c.exports }.to raise_error(PuppetX::Exportfact::Error, %r{answered 503 store_unavailable}) }
    expect(broker.requests.length).to eq(2)
    expect(PuppetX::Exportfact::Unanswered).not_to have_received(:record)
  end

  it 'asks again in the next run (RunClient.reset) or once RUN_SECONDS have passed' do
    c = client([silent.url])
    run_requests(c)
    PuppetX::Exportfact::RunClient.reset
    run_requests(c)
    expect(silent.accepted).to eq(2)
    later = PuppetX::Exportfact::Unanswered.monotonic + PuppetX::Exportfact::Unanswered::RUN_SECONDS
    expect(PuppetX::Exportfact::Unanswered.reason(silent.url)).to match(%r{no connection})
    expect(PuppetX::Exportfact::Unanswered.reason(silent.url, now: later)).to be_nil
  end
end
