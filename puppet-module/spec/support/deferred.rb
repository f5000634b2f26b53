# frozen_string_literal: true

require_relative 'apply'

# Resolving Deferred values as the agent does before it applies a catalog (a
# ScriptCompiler), against a fake broker with a secret `app.db_password`.
RSpec.shared_context 'with Deferred values resolved on the agent' do
  include_context 'with a memory broker'
  let(:canary) { 'CANARY-fn-5e11' }
  let(:env) { Puppet::Node::Environment.create(:production, [ExportfactSpec.module_path]) }

  before do
    broker.secrets['app.db_password'] = { 'value' => canary, 'version' => 2 }
    # Resolved before the catalog is applied: Puppet 7's default, a setting with Puppet 8
    # (see Secrets::Functions.check_preprocessed!).
    Puppet[:preprocess_deferred] = true
  end

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

  def sensitive?(value)
    value.is_a?(Puppet::Pops::Types::PSensitiveType::Sensitive)
  end
end
