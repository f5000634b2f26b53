# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/memory_broker'

# Called while compiling (rspec-puppet compiles a catalog), the functions refuse to run.
describe 'exportfact::secret' do
  it { is_expected.to run.with_params('app.db_password').and_raise_error(Puppet::ParseError, %r{call it through Deferred\('exportfact::secret'}) }
  it { is_expected.to run.with_params('App.x').and_raise_error(ArgumentError, %r{expects}) }
end

describe 'exportfact::secret_format' do
  it { is_expected.to run.with_params('x%s', 'app.db_password').and_raise_error(Puppet::ParseError, %r{through Deferred}) }
end

# Through Deferred, as the agent resolves it (a ScriptCompiler), against a fake broker.
describe 'exportfact secret functions, resolved as Deferred values' do
  let(:broker) { MemoryBroker.new }
  let(:canary) { 'CANARY-fn-5e11' }
  let(:env) { Puppet::Node::Environment.create(:production, [ExportfactSpec.module_path]) }

  before(:each) do
    broker.setup_puppet
    broker.secrets['app.db_password'] = { 'value' => canary, 'version' => 2 }
  end

  after(:each) { broker.stop }

  def deferred(name, args)
    Puppet::Pops::Types::TypeFactory.deferred.create(name, args)
  end

  # Resolves the values with one compiler, as Puppet does for one catalog.
  def resolve(*values)
    Puppet.override(current_environment: env, loaders: Puppet::Pops::Loaders.new(env)) do
      compiler = Puppet::Parser::ScriptCompiler.new(env, MemoryBroker::CERTNAME, true)
      values.map { |v| Puppet::Pops::Evaluator::DeferredResolver.resolve(v, compiler) }
    end
  end

  def sensitive?(v)
    v.is_a?(Puppet::Pops::Types::PSensitiveType::Sensitive)
  end

  it 'returns the secret as Sensitive, by key or by category and name' do
    a, b = resolve(deferred('exportfact::secret', ['app.db_password']), deferred('exportfact::secret', ['app', 'db_password']))
    expect([sensitive?(a), sensitive?(b)]).to eq([true, true])
    expect([a.unwrap, b.unwrap]).to eq([canary, canary])
    expect(a.to_s).not_to include(canary)
    expect(broker.requests.count).to eq(1) # cached for the run
    expect(broker.requests.first[:cn]).to eq(MemoryBroker::CERTNAME)
  end

  it 'pins a version or generates if absent' do
    resolve(deferred('exportfact::secret', ['app.db_password', { 'version' => 2 }]))
    expect(broker.requests.last[:path]).to eq('/v1/secrets/app/db_password')
    g = resolve(deferred('exportfact::secret', ['app.fresh', { 'generate' => { 'length' => 16, 'alphabet' => 'alnum' } }])).first
    expect(g.unwrap).to eq('G' * 16)
    expect(JSON.parse(broker.requests.last[:body])).to eq('length' => 16, 'alphabet' => 'alnum')
  end

  it 'fails with the status and the API code, never the value' do
    expect { resolve(deferred('exportfact::secret', ['app.missing'])) }
      .to raise_error(Puppet::Error, %r{exportfact::secret: exportfact: cannot fetch secret app.missing: GET \S+ answered 404 secret_not_found: no sensitive fact app.missing})
  end

  it 'fails clearly when the broker is unreachable' do
    broker.setup_puppet(url: 'https://127.0.0.1:9')
    expect { resolve(deferred('exportfact::secret', ['app.db_password'])) }.to raise_error(Puppet::Error, %r{exportfact broker unreachable})
  end

  it 'checks options' do
    expect { resolve(deferred('exportfact::secret', ['app.db_password', { 'verison' => 2 }])) }.to raise_error(Puppet::ParseError, %r{unknown option\(s\) verison})
  end

  it 'formats a connection string around a secret (%u percent-encodes)' do
    broker.secrets['app.db_password']['value'] = 'a@b:c/d'
    v = resolve(deferred('exportfact::secret_format', ['mysql+pymysql://nova:%u@db/nova', 'app.db_password'])).first
    expect(sensitive?(v)).to be(true)
    expect(v.unwrap).to eq('mysql+pymysql://nova:a%40b%3Ac%2Fd@db/nova')
    w = resolve(deferred('exportfact::secret_format', ['pw=%s;', 'app', 'db_password'])).first
    expect(w.unwrap).to eq('pw=a@b:c/d;')
  end

  it 'formats nested Deferred secrets' do
    broker.secrets['mq.user'] = { 'value' => 'nova', 'version' => 1 }
    v = resolve(deferred('exportfact::secret_format', ['amqp://%u:%u@mq/', deferred('exportfact::secret', ['mq.user']),
                                                       deferred('exportfact::secret', ['app.db_password'])])).first
    expect(v.unwrap).to eq("amqp://nova:#{canary}@mq/")
  end

  it 'refuses a format whose placeholders do not match the secrets' do
    expect { resolve(deferred('exportfact::secret_format', ['no placeholder', 'app.db_password'])) }
      .to raise_error(Puppet::ParseError, %r{0 placeholder\(s\) for 1})
  end
end
