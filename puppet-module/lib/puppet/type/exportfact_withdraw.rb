# frozen_string_literal: true

require_relative '../../puppet_x/exportfact/config'
require_relative '../../puppet_x/exportfact/published_fact'

Puppet::Type.newtype(:exportfact_withdraw) do
  @doc = <<-DOC
    @summary Withdraws the facts this node published, and forgets the gates it reported, that its catalog no longer declares.

    Declared once by the class `exportfact` (in a run stage after `main`); not meant to be
    declared by hand. At the end of a run it asks the broker which facts this node
    exports and withdraws, in one request, those that no `exportfact_fact` or `exportfact_secret_export` of this catalog
    declares (a fact removed from the manifests, or a role removed from the node). Likewise
    the gates this node reported that no `exportfact_gate` of this catalog declares (a role
    and its gate removed from the node) are forgotten, in one request, so that the broker's
    picture of who waits on what holds only gates that still exist.

    It does nothing:
    * in a noop run (it reports what it would withdraw),
    * in a run limited by `tags` or `skip_tags` (the catalog was only partly applied),
    * in a failed run: it depends on every resource of the stage `main`, so Puppet skips it
      when anything there failed,
    * when this run's view of the broker was not fresh (`view_source` is `cache` or `none`):
      gates were evaluated on old or missing facts, and a role that is absent from the catalog
      only for that reason must not lose its facts.
  DOC

  newparam(:name, namevar: true) do
    desc 'Any name; there is one per catalog.'
  end

  newparam(:view_source) do
    desc <<-DESC
      Where this run's exportfact facts came from (`$facts['exportfact_status']['source']`):
      `broker`, `cache` or `none`. Withdrawal happens only for `broker`.
    DESC
    defaultto 'broker'
  end

  newproperty(:withdrawn, array_matching: :all) do
    desc 'The facts (`category.name`) published by this node and not declared in the catalog; always brought to `[]`.'
    defaultto []

    def insync?(is)
      is.nil? || is == :absent || is.empty?
    end

    # Puppet 8 shows this in noop runs too (Puppet 7: "current_value ..., should be ...").
    def change_to_s(current, _desired)
      "#{noop ? 'would withdraw' : 'withdrew'} #{Array(current).join(', ')} (no longer declared in this node's catalog)"
    end

    def should_to_s(value)
      Array(value).join(', ')
    end

    def is_to_s(value)
      Array(value).join(', ')
    end
  end

  newproperty(:stale_gates, array_matching: :all) do
    desc 'The gates (names) this node reported and no `exportfact_gate` of the catalog declares; always brought to `[]`.'
    defaultto []

    def insync?(is)
      is.nil? || is == :absent || is.empty?
    end

    def change_to_s(current, _desired)
      "#{noop ? 'would forget' : 'forgot'} the gate reports #{Array(current).join(', ')} (no longer in this node's catalog)"
    end

    def should_to_s(value)
      Array(value).join(', ')
    end

    def is_to_s(value)
      Array(value).join(', ')
    end
  end

  # The facts this catalog declares (ensure => present), as [category, name].
  def declared
    catalog.resources.select { |r| PuppetX::Exportfact::PublishedFact::TYPES.include?(r.type) && r.should(:ensure) != :absent }
           .map { |r| [r[:category], r[:fact]] }.uniq
  end

  # The gates this catalog declares (ensure => present), by name.
  def declared_gates
    catalog.resources.select { |r| r.type == :exportfact_gate && r.should(:ensure) != :absent }.map { |r| r[:name] }.uniq
  end

  # exportfact.yaml first (the class exportfact::agent may write it in the same run).
  autorequire(:file) { [PuppetX::Exportfact::Config.default_path] }

  # Publish and report before withdrawing (the class `exportfact` also puts this resource in a stage
  # after `main`, so that a failure anywhere in `main` skips it).
  (PuppetX::Exportfact::PublishedFact::TYPES + [:exportfact_gate]).each do |type|
    autorequire(type) do
      catalog.resources.select { |r| r.type == type }
    end
  end
end
