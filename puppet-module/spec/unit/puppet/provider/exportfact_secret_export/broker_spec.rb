# frozen_string_literal: true

require 'spec_helper'
require_relative '../../../../support/apply'

describe Puppet::Type.type(:exportfact_secret_export).provider(:broker) do
  include_context 'with a memory broker'
  let(:source) { File.join(broker.tmp, 'token') }
  let(:canary) { 'NODE-HELD-canary-91c2' }

  before do
    File.write(source, "#{canary}\n")
  end

  def export(params = {})
    Puppet::Type.type(:exportfact_secret_export).new({ title: 'barbican.admin_token', source: source }.merge(params))
  end

  def events(report)
    status(report, 'Exportfact_secret_export[barbican.admin_token]').events
  end

  it 'publishes the file (one newline dropped) as a sensitive fact, and reports without the value' do
    report = apply(export)
    put = broker.requests.find { |r| r[:method] == 'PUT' }
    expect(put[:path]).to eq('/v1/facts/barbican/admin_token')
    expect(JSON.parse(put[:body])).to eq('value' => canary, 'sensitive' => true, 'multi' => false)
    expect(events(report).map(&:message)).to eq(["published secret barbican.admin_token version 1 from #{source} (value not shown)"])
    expect(report.to_data_hash.to_json + report.logs.map(&:to_s).join).not_to include(canary)
  end

  it 'does nothing when the broker holds the same value' do
    apply(export)
    expect(events(apply(export))).to be_empty
    expect(broker.requests.count { |r| r[:method] == 'PUT' }).to eq(1)
  end

  it 'looks, compares and publishes over one connection per run' do
    apply(export)
    File.write(source, 'rotated-value-23')
    broker.requests.clear
    before = broker.fake.connections
    report = apply(export)
    expect(broker.calls.map(&:first)).to eq(['GET', 'GET', 'PUT']) # its exports, the secret, the new version
    expect(report.status).to eq('changed')
    expect(broker.fake.connections - before).to eq(1)
  end

  it 'publishes a new version when the file changed' do
    apply(export)
    File.write(source, 'rotated-value-22')
    report = apply(export)
    expect(events(report).map(&:message))
      .to eq(["published a new version of secret barbican.admin_token version 2 from #{source} (value not shown)"])
    expect(broker.secrets['barbican.admin_token']['value']).to eq('rotated-value-22')
    expect(report.to_data_hash.to_json).not_to include('rotated-value-22')
  end

  it 'fails when the source is missing or empty, naming the file only' do
    File.unlink(source)
    report = apply(export)
    expect(report.logs.map(&:to_s).join).to include("source #{source} does not exist")
    File.write(source, "\n")
    report = apply(export)
    expect(report.logs.map(&:to_s).join).to include("source #{source} is empty")
  end

  it 'refuses to publish over a broker-generated secret, with the code' do
    broker.secrets['barbican.admin_token'] = { 'value' => 'x' * 10, 'version' => 1, 'generated' => true }
    report = apply(export)
    expect(report.logs.map(&:to_s).join).to match(%r{answered 409 secret_generated.*a node cannot publish over it})
  end

  it 'withdraws with ensure => absent' do
    apply(export)
    apply(Puppet::Type.type(:exportfact_secret_export).new(title: 'barbican.admin_token', ensure: :absent))
    expect(broker.requests.map { |r| r[:method] }).to include('DELETE'), broker.requests.map { |r| [r[:method], r[:path]] }.inspect
    expect(broker.secrets).to be_empty
  end
end
