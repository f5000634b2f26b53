# frozen_string_literal: true

require 'json'
require_relative '../../puppet_x/exportfact/published_fact'
require_relative '../../puppet_x/exportfact/values'

Puppet::Type.newtype(:exportfact_fact) do
  @doc = <<-DOC
    @summary Publishes one fact of this node to the exportfact broker, during the apply.

    The fact is published when Puppet reaches this resource, so ordering decides when
    peers can see it: a database URL published with `-> exportfact_fact {...}` after the
    database's resources is not seen before the database exists. Peers read it in their
    next run (`$facts['exportfact'][category][name]`, or `$facts[name]` for single facts).

    A *single* fact has one exporter: if another node already exports it, the broker
    answers 409 and this resource fails with a message naming that node; its dependents are
    skipped, the rest of the run goes on. A *per-node* fact (`multi => true`) holds one value
    per exporting node; readers see `{certname => value}`.

    The title is `category.name` (or `category/name`); or any title with `category` and
    `fact` given as parameters. Facts this node published that no `exportfact_fact` of its
    latest successful catalog declares are withdrawn at the end of the run by the class
    `exportfact` (which must be included).

    Values are any JSON value Facter can hold (string, number, boolean, array, hash), not
    `undef`. `Sensitive` values are refused: a value written in a manifest lands in the
    catalog, the report and PuppetDB; secrets are made and kept by the broker.

    @example A database URL, published once the database exists
      exportfact_fact { 'db.keystone_url':
        value   => "mysql://${facts['networking']['fqdn']}/keystone",
        require => Exec['create keystone database'],
      }

    @example One value per message-queue node
      exportfact_fact { 'rabbitmq.host':
        value => $facts['networking']['fqdn'],
        multi => true,
      }
  DOC

  include PuppetX::Exportfact::PublishedFact

  ensurable do
    desc 'Whether this node publishes the fact (`present`) or has withdrawn it (`absent`).'
    defaultvalues
    defaultto :present

    def change_to_s(current, desired)
      case desired
      when :present then "published #{resource.shown_value}#{resource[:multi] ? ' (per-node)' : ''}"
      when :absent then 'withdrawn'
      else super
      end
    end
  end

  newparam(:category, namevar: true, parent: PuppetX::Exportfact::PublishedFact::NameParameter) do
    desc 'The category (the old module\'s `category`): Facter-style, `^[a-z][a-z0-9_]*$`, at most 64 characters.'
  end

  newparam(:fact, namevar: true, parent: PuppetX::Exportfact::PublishedFact::NameParameter) do
    desc 'The fact\'s name within its category: Facter-style, `^[a-z][a-z0-9_]*$`, at most 64 characters.'
  end

  newparam(:multi, boolean: true, parent: Puppet::Parameter::Boolean) do
    desc 'Per-node fact: every exporting node has its own value; readers see `{certname => value}`.'
    defaultto :false
  end

  newproperty(:value) do
    desc 'The value: a string, number, boolean, array or hash (JSON-compatible), not `undef`.'

    # Keep arrays whole: the property holds one value, whatever its shape.
    def should=(values)
      super([values])
    end

    validate do |v|
      raise ArgumentError, 'exportfact_fact: value must not be undef' if v.nil? || v == :undef

      if v.is_a?(Puppet::Pops::Types::PSensitiveType::Sensitive)
        raise ArgumentError, 'exportfact_fact: refusing a Sensitive value: a value in a manifest lands in the catalog; ' \
                             'secrets are generated and kept by the broker'
      end

      begin
        JSON.generate(v)
      rescue StandardError => e
        raise ArgumentError, "exportfact_fact: value is not JSON-compatible: #{e.message}"
      end
      bad = PuppetX::Exportfact::Values.invalid(v)
      raise ArgumentError, "exportfact_fact: #{bad}" if bad
    end

    def insync?(is)
      PuppetX::Exportfact::Values.canonical(is) == PuppetX::Exportfact::Values.canonical(should)
    end

    def change_to_s(current, desired)
      if current.nil? || current == :absent
        "published #{resource.shown_value(desired)}"
      else
        "changed #{resource.shown_value(current)} to #{resource.shown_value(desired)}"
      end
    end
  end

  autorequire(:file) { config_files }

  validate do
    check_address!
    if self[:ensure] != :absent && !@parameters.include?(:value)
      raise ArgumentError, "exportfact_fact[#{title}]: value is required unless ensure => absent"
    end
  end

  # A Sensitive value in a manifest is refused by the provider (this resource fails,
  # not the run); its value stays redacted in logs.
  def set_sensitive_parameters(sensitive_parameters) # rubocop:disable Naming/AccessorMethodName -- Puppet::Type's method, overridden
    @sensitive_value = sensitive_parameters.include?(:value)
    super
  end

  def sensitive_value?
    @sensitive_value ? true : false
  end

  # The value as change messages show it: canonical JSON, or `[redacted]`.
  def shown_value(value = should(:value))
    sensitive_value? ? '[redacted]' : PuppetX::Exportfact::Values.canonical(value)
  end
end
