# frozen_string_literal: true

require_relative 'memory_broker'

# Applying resources as an agent run does (a catalog, a transaction, a report), for the
# provider specs.
module ApplyHelpers
  # Applies resources in a catalog of their own; returns the finalised report.
  def apply(*resources)
    catalog = Puppet::Resource::Catalog.new(MemoryBroker::CERTNAME, Puppet::Node::Environment.remote(:production))
    resources.each { |r| catalog.add_resource(r) }
    catalog.apply.report.tap(&:finalize_report)
  end

  def status(report, ref)
    report.resource_statuses.fetch(ref)
  end

  def messages(report, ref)
    status(report, ref).events.map(&:message)
  end

  # Every log line of the run, one per line.
  def log_text(report)
    report.logs.map(&:to_s).join("\n")
  end
end

# A fake broker with facts and secrets for node1.example.test, and Puppet's settings
# pointing at it (confdir with exportfact.yaml, ssldir, vardir).
RSpec.shared_context 'with a memory broker' do
  include ApplyHelpers

  let(:broker) { MemoryBroker.new }

  before { broker.setup_puppet }
  after { broker.stop }
end
