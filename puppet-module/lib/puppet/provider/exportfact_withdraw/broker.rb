# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/run_client'

Puppet::Type.type(:exportfact_withdraw).provide(:broker) do
  desc 'Withdraws undeclared facts with POST /v1/exports/prune, and forgets unreported gates with POST /v1/gates/prune.'

  # What would be withdrawn; [] when withdrawal must not happen in this run.
  def withdrawn
    reason = skip_reason
    if reason
      Puppet.info("exportfact: not withdrawing undeclared facts nor forgetting gates: #{reason}")
      return []
    end
    keep = resource.declared.map { |c, n| "#{c}.#{n}" }
    exports = client.exports
    exports.map { |e| "#{e['category']}.#{e['name']}" }.reject { |k| keep.include?(k) }.sort
  rescue PuppetX::Exportfact::Error => e
    # The broker went away between fact resolution and now: withdraw nothing, warn only.
    Puppet.warning("exportfact: not withdrawing undeclared facts: #{e.message}")
    []
  end

  def withdrawn=(_should)
    gone = client.prune(resource.declared)
    Puppet.debug("exportfact: withdrew #{gone.map { |g| "#{g['category']}.#{g['name']}" }.join(', ')}")
  end

  # The gates this node reported that the catalog no longer has; [] when they must stay
  # (the same rules as for facts: #withdrawn has said why).
  def stale_gates
    return [] if skip_reason

    keep = resource.declared_gates
    client.gates.map { |g| g['name'] }.reject { |name| keep.include?(name) }.sort
  rescue PuppetX::Exportfact::Error => e
    # A broker older than the module has no gates to forget; one that went away: warn only.
    Puppet.warning("exportfact: not forgetting gates no longer declared: #{e.message}") unless e.code == 'route_not_found'
    []
  end

  def stale_gates=(_should)
    gone = client.prune_gates(resource.declared_gates)
    Puppet.debug("exportfact: forgot the gate reports #{gone.join(', ')}")
  end

  # The withdrawal is the run's last word to the broker.
  def flush
    client.close
  end

  private

  def skip_reason
    source = resource[:view_source].to_s
    return "this run's exportfact view came from #{source}, not from the broker" unless source == 'broker'
    return 'the run is limited by tags' unless Array(Puppet[:tags]).reject { |t| t.to_s.empty? }.empty?
    return 'the run is limited by skip_tags' unless Array(Puppet[:skip_tags]).reject { |t| t.to_s.empty? }.empty?

    nil
  end

  def client
    PuppetX::Exportfact::RunClient.current
  end
end
