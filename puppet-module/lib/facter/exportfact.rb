# frozen_string_literal: true

# Fact: exportfact, exportfact_secrets, exportfact_status, and one top-level fact per
# single exported fact.
#
# Purpose: show this node what the exportfact broker lets it read, so that manifests (and
# gates such as exportfact::ready) see a peer's value in the first run after the peer
# published it.
#
# Resolution: one conditional GET /v1/facts per run to the broker(s) of exportfact.yaml,
# with this node's Puppet certificate and key (see PuppetX::Exportfact::Client). When no
# broker answers, the last good answer (cache under vardir, mode 0600) is used, with a
# warning saying how old it is; without one the facts are absent and exportfact_status
# says why.
#
# Caveats: needs Puppet's settings (runs under `puppet agent`, `puppet apply`,
# `facter -p`); plain `facter` shows nothing. Top-level facts never replace a core fact,
# another custom fact or a Puppet variable, and a name two categories share is skipped
# with a warning; `top_level_facts: false` in exportfact.yaml turns them off.
# Sensitive facts (secrets) show only their version number, never their value.

begin
  require 'puppet'
rescue LoadError
  nil
end

if defined?(Puppet) && Puppet.respond_to?(:settings) && Puppet.settings.global_defaults_initialized?
  begin
    require_relative '../puppet_x/exportfact/view_source'
    require_relative '../puppet_x/exportfact/fact_names'
    require_relative '../puppet_x/exportfact/top_level'

    exportfact_config = PuppetX::Exportfact::Config.load
    exportfact_config.warnings.each { |w| Puppet.warning("exportfact: #{w}") }
    exportfact_view = PuppetX::Exportfact::ViewSource.current
  rescue StandardError => e
    # Never stop the catalog: a broken exportfact.yaml or ssldir shows in the status fact.
    Puppet.warning("exportfact: facts unavailable: #{e.message}")
    exportfact_config = nil
    exportfact_view = PuppetX::Exportfact::View.new({}, source: 'none', error: e.message)
  end

  unless exportfact_view.source == 'none'
    Facter.add(:exportfact) do
      setcode { exportfact_view.exportfact_fact }
    end
    Facter.add(:exportfact_secrets) do
      setcode { exportfact_view.secrets_fact }
    end
  end

  Facter.add(:exportfact_status) do
    # config_file: where exportfact.yaml is on this node, for the class exportfact::agent.
    setcode { exportfact_view.status_fact.merge('config_file' => PuppetX::Exportfact::Config.default_path) }
  end

  if exportfact_config&.top_level_facts
    top, ambiguous = exportfact_view.top_level(taken: PuppetX::Exportfact::FactNames.taken)
    unless ambiguous.empty?
      Puppet.warning("exportfact: not shown as top-level facts, as several categories export them: #{ambiguous.join('; ')} " \
                     '(read them as $facts[\'exportfact\'][category][name])')
    end
    # The old exportfact module wrote <category>.txt external facts, which override custom
    # facts: a top-level fact whose category has such a file outweighs it, so its stale value
    # cannot win (the class exportfact removes the file in this run).
    old_files = PuppetX::Exportfact::FactNames.old_module_files(exportfact_view.facts.keys)
    top.each do |name, value|
      category = exportfact_view.facts.find { |_, names| names.is_a?(Hash) && names.key?(name) }&.first
      old = old_files[category]
      if old
        Puppet.warning("exportfact: #{old} (left by the old exportfact module) is stale; " \
                       "#{name} comes from the broker (the class exportfact removes that file)")
      end
      Facter.add(name.to_sym) do
        # Below every other resolution of the same name (see TopLevel): never shadows; above
        # external facts only against an old-module file.
        resolution = self
        has_weight(old ? 20_000 : PuppetX::Exportfact::TopLevel.weight(resolution))
        setcode { PuppetX::Exportfact::TopLevel.yields?(resolution) ? nil : value }
      end
    end
  end
end
