# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/watch_client'
require_relative '../../../support/memory_broker'

describe PuppetX::Exportfact::WatchClient do
  let(:broker) { MemoryBroker.new }
  let(:seen) { [] }
  let(:config) { PuppetX::Exportfact::Config.new('url' => broker.fake.url, 'connect_timeout' => 1, 'read_timeout' => 1) }

  before do
    broker.setup_puppet
    # The broker's watch: held while the tag is current (here: 2.5 s, longer than read_timeout), then 304.
    broker.fake.handler = lambda do |req, res|
      seen << [req.path, req.query_string, req['If-None-Match']]
      if req['If-None-Match'] == '"v1"'
        sleep 2.5
        res.status = 304
        res['ETag'] = '"v1"'
      else
        FakeBroker.json(res, 200, { 'facts' => { 'db' => { 'url' => 'x' } } }, 'ETag' => '"v1"')
      end
    end
  end

  after { broker.stop }

  it 'asks for the view at once without a tag, then holds with the tag; its read timeout covers the wait' do
    client = described_class.new(config, wait: 2)
    first = client.watch
    expect(first).to include(status: 200, etag: '"v1"', body: { 'facts' => { 'db' => { 'url' => 'x' } } })
    expect(client.watch(etag: '"v1"')).to include(status: 304, etag: '"v1"', body: nil)
    expect(seen).to eq([['/v1/facts', 'wait=2s', nil], ['/v1/facts', 'wait=2s', '"v1"']])
  end

  it 'never holds longer than the wait its timeout is sized for' do
    client = described_class.new(config, wait: 2)
    client.watch(etag: '"v0"', seconds: 500)
    expect(seen.last[1]).to eq('wait=2s')
  end

  it 'reads the node\'s gates through the same client (GET /v1/gates)' do
    broker.fake.handler = ->(_req, res) { FakeBroker.json(res, 200, 'gates' => [{ 'name' => 'g', 'open' => true }]) }
    expect(described_class.new(config, wait: 2).gates).to eq([{ 'name' => 'g', 'open' => true }])
  end
end
