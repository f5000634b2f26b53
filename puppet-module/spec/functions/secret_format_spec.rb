# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/deferred'

describe 'exportfact::secret_format' do
  # Called while compiling (rspec-puppet compiles a catalog), the function refuses to run.
  it { is_expected.to run.with_params('x%s', 'app.db_password').and_raise_error(Puppet::ParseError, %r{through Deferred}) }

  context 'when resolved as a Deferred value on the agent' do
    include_context 'with Deferred values resolved on the agent'

    it 'formats a connection string around a secret (%u percent-encodes)' do
      broker.secrets['app.db_password']['value'] = 'a@b:c/d'
      encoded = resolve(deferred('exportfact::secret_format', ['mysql+pymysql://nova:%u@db/nova', 'app.db_password'])).first
      expect(sensitive?(encoded)).to be(true)
      expect(encoded.unwrap).to eq('mysql+pymysql://nova:a%40b%3Ac%2Fd@db/nova')
      plain = resolve(deferred('exportfact::secret_format', ['pw=%s;', 'app', 'db_password'])).first
      expect(plain.unwrap).to eq('pw=a@b:c/d;')
    end

    it 'formats nested Deferred secrets' do
      broker.secrets['mq.user'] = { 'value' => 'nova', 'version' => 1 }
      secrets = [deferred('exportfact::secret', ['mq.user']), deferred('exportfact::secret', ['app.db_password'])]
      formatted = resolve(deferred('exportfact::secret_format', ['amqp://%u:%u@mq/', *secrets])).first
      expect(formatted.unwrap).to eq("amqp://nova:#{canary}@mq/")
    end

    it 'refuses a format whose placeholders do not match the secrets' do
      expect { resolve(deferred('exportfact::secret_format', ['no placeholder', 'app.db_password'])) }
        .to raise_error(Puppet::ParseError, %r{0 placeholder\(s\) for 1})
    end
  end
end
