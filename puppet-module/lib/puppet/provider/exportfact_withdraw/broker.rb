# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/run_client'

Puppet::Type.type(:exportfact_withdraw).provide(:broker) do
  desc 'Withdraws undeclared facts with POST /v1/exports/prune.'

  # What would be withdrawn; [] when withdrawal must not happen in this run.
  def withdrawn
    reason = skip_reason
    if reason
      Puppet.info("exportfact: not withdrawing undeclared facts: #{reason}")
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
  ensure
    close
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

  # The withdrawal is the run's last word to the broker.
  def close
    client.close
  end
end
