# frozen_string_literal: true

require 'spec_helper'
require 'etc'
require_relative '../../../../support/apply'

describe Puppet::Type.type(:exportfact_secret_file).provider(:broker) do
  include_context 'with a memory broker'
  let(:dir) { File.join(broker.tmp, 'out').tap { |d| FileUtils.mkdir_p(d) } }
  let(:path) { File.join(dir, 'db_password') }
  let(:canary) { 'CANARY-s3cr3t-7f3a' }

  before do
    broker.secrets['app.db_password'] = { 'value' => canary, 'version' => 3 }
  end

  def secret_file(params = {})
    Puppet::Type.type(:exportfact_secret_file).new({ path: path, secret: 'app.db_password' }.merge(params))
  end

  def report_text(report)
    [report.to_data_hash.to_json, log_text(report)].join("\n")
  end

  it 'writes the secret with mode 0600 by default, and says so without the value' do
    report = apply(secret_file)
    expect(File.read(path)).to eq(canary)
    expect(File.stat(path).mode & 0o777).to eq(0o600)
    expect(File.stat(path).uid).to eq(Process.uid)
    msgs = status(report, "Exportfact_secret_file[#{path}]").events.map(&:message)
    expect(msgs).to eq(['wrote secret app.db_password version 3 (content not shown)'])
    expect(report_text(report)).not_to include(canary)
    expect(broker.requests.last[:cn]).to eq(MemoryBroker::CERTNAME)
    expect(broker.requests.last[:path]).to eq('/v1/secrets/app/db_password')
  end

  it 'changes nothing when the file holds the secret already' do
    File.write(path, canary)
    File.chmod(0o600, path)
    report = apply(secret_file)
    expect(status(report, "Exportfact_secret_file[#{path}]").events).to be_empty
  end

  it 'rewrites a changed file, reporting current/outdated and the version only' do
    File.write(path, 'OLD-VALUE-x1')
    File.chmod(0o644, path)
    report = apply(secret_file(mode: '0440', owner: Process.uid.to_s, group: Process.gid.to_s))
    expect(File.read(path)).to eq(canary)
    expect(File.stat(path).mode & 0o777).to eq(0o440)
    events = status(report, "Exportfact_secret_file[#{path}]").events
    content = events.find { |e| e.property == 'content' }
    expect(content.message).to eq('content changed: secret app.db_password version 3 (value not shown)')
    expect([content.previous_value, content.desired_value]).to eq([:outdated, :current])
    expect(events.find { |e| e.property == 'mode' }.message).to match(%r{mode changed '0644' to '0440'})
    text = report_text(report)
    expect(text).not_to include(canary)
    expect(text).not_to include('OLD-VALUE-x1')
    expect(text).not_to include(Digest::SHA256.hexdigest(canary))
  end

  it 'puts the secret into its format (%u percent-encodes)' do
    broker.secrets['app.db_password']['value'] = 'p@ss/w:rd'
    apply(secret_file(format: "connection = mysql+pymysql://nova:%u@db/nova\n"))
    expect(File.read(path)).to eq("connection = mysql+pymysql://nova:p%40ss%2Fw%3Ard@db/nova\n")
  end

  it 'asks the broker to generate the secret if absent' do
    apply(secret_file(secret: 'app.generated', generate: { 'length' => 24, 'alphabet' => 'hex' }))
    expect(File.read(path)).to eq('G' * 24)
    req = broker.requests.last
    expect([req[:method], req[:path],
            JSON.parse(req[:body])]).to eq(['POST', '/v1/secrets/app/generated/generate', { 'length' => 24, 'alphabet' => 'hex' }])
  end

  it 'pins a version' do
    apply(secret_file(version: 3))
    expect(broker.requests.last[:path]).to eq('/v1/secrets/app/db_password')
    expect(File.read(path)).to eq(canary)
  end

  it 'fails only itself and its dependents when the secret is missing, with status and code' do
    other = File.join(dir, 'other')
    after = File.join(dir, 'after')
    res = secret_file(secret: 'app.missing')
    dependent = Puppet::Type.type(:file).new(path: after, content: 'x', require: res.ref)
    independent = Puppet::Type.type(:file).new(path: other, content: 'y')
    report = apply(res, dependent, independent)
    expect(status(report, "Exportfact_secret_file[#{path}]").failed).to be(true)
    expect(status(report, "File[#{after}]").skipped).to be(true)
    expect(File.exist?(other)).to be(true)
    expect(log_text(report))
      .to match(%r{cannot fetch secret app.missing: GET https://127.0.0.1:\d+/v1/secrets/app/missing answered 404 secret_not_found})
  end

  it 'fails only itself when the broker is unreachable' do
    File.write(path, 'OLD')
    broker.setup_puppet(url: 'https://127.0.0.1:9')
    other = File.join(dir, 'other')
    report = apply(secret_file, Puppet::Type.type(:file).new(path: other, content: 'y'))
    expect(status(report, "Exportfact_secret_file[#{path}]").failed).to be(true)
    expect(File.read(path)).to eq('OLD')
    expect(File.exist?(other)).to be(true)
    expect(log_text(report)).to match(%r{cannot fetch secret app.db_password: exportfact broker unreachable})
  end

  it 'removes the file with ensure => absent, without asking the broker' do
    File.write(path, canary)
    apply(Puppet::Type.type(:exportfact_secret_file).new(path: path, ensure: :absent))
    expect(File.exist?(path)).to be(false)
    expect(broker.requests).to be_empty
  end

  it 'asks once per run for a secret used by two resources' do
    second = File.join(dir, 'copy')
    apply(secret_file, secret_file(path: second))
    expect(File.read(second)).to eq(canary)
    expect(broker.requests.count { |r| r[:path] == '/v1/secrets/app/db_password' }).to eq(1)
  end
end
