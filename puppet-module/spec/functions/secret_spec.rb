# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/deferred'

describe 'exportfact::secret' do
  # Called while compiling (rspec-puppet compiles a catalog), the function refuses to run.
  compiling = %r{call it through Deferred\('exportfact::secret'}
  it { is_expected.to run.with_params('app.db_password').and_raise_error(Puppet::ParseError, compiling) }
  it { is_expected.to run.with_params('App.x').and_raise_error(ArgumentError, %r{expects}) }

  context 'when resolved as a Deferred value on the agent' do
    include_context 'with Deferred values resolved on the agent'

    it 'returns the secret as Sensitive, by key or by category and name' do
      by_key, by_name = resolve(deferred('exportfact::secret', ['app.db_password']),
                                deferred('exportfact::secret', ['app', 'db_password']))
      expect([sensitive?(by_key), sensitive?(by_name)]).to eq([true, true])
      expect([by_key.unwrap, by_name.unwrap]).to eq([canary, canary])
      expect(by_key.to_s).not_to include(canary)
      expect(broker.requests.count).to eq(1) # cached for the run
      expect(broker.requests.first[:cn]).to eq(MemoryBroker::CERTNAME)
    end

    it 'pins a version or generates if absent' do
      resolve(deferred('exportfact::secret', ['app.db_password', { 'version' => 2 }]))
      expect(broker.requests.last[:path]).to eq('/v1/secrets/app/db_password')
      options = { 'generate' => { 'length' => 16, 'alphabet' => 'alnum' } }
      generated = resolve(deferred('exportfact::secret', ['app.fresh', options])).first
      expect(generated.unwrap).to eq('G' * 16)
      expect(JSON.parse(broker.requests.last[:body])).to eq('length' => 16, 'alphabet' => 'alnum')
    end

    it 'fails with the status and the API code, never the value' do
      expected = %r{exportfact::secret: exportfact: cannot fetch secret app.missing: GET \S+ answered 404 secret_not_found: no sensitive}
      expect { resolve(deferred('exportfact::secret', ['app.missing'])) }.to raise_error(Puppet::Error, expected)
    end

    it 'fails clearly when the broker is unreachable' do
      broker.setup_puppet(url: 'https://127.0.0.1:9')
      expect do
        resolve(deferred('exportfact::secret', ['app.db_password']))
      end.to raise_error(Puppet::Error, %r{exportfact broker unreachable})
    end

    it 'refuses to run when Puppet resolves Deferred values lazily (it would not keep them Sensitive)' do
      Puppet[:preprocess_deferred] = false
      expect { resolve(deferred('exportfact::secret', ['app.db_password'])) }
        .to raise_error(Puppet::Error, %r{refusing to run with preprocess_deferred = false.*use exportfact_secret_file})
      expect(broker.requests).to be_empty
    end

    it 'checks options' do
      expect { resolve(deferred('exportfact::secret', ['app.db_password', { 'verison' => 2 }])) }
        .to raise_error(Puppet::ParseError, %r{unknown option\(s\) verison})
    end
  end
end
