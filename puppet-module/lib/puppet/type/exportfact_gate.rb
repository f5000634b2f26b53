# frozen_string_literal: true

require_relative '../../puppet_x/exportfact/config'
require_relative '../../puppet_x/exportfact/names'
require_relative '../../puppet_x/exportfact/requirement_list'

Puppet::Type.newtype(:exportfact_gate) do
  @doc = <<-DOC
    @summary Tells the broker what one of this node's gates waits for: names only, never a value.

    Declared by `exportfact::gate` and `exportfact::ready` (once per gate), not meant to be
    declared by hand. Gates are evaluated where the catalog is compiled (on puppetserver in
    agent mode), so their state travels in the catalog and this resource sends it at apply
    time, with this node's certificate (`PUT /v1/gates/{name}`), over the run's one
    connection to the broker. The broker keeps the picture of who waits on what
    (`exportfact waits`, the admin page `/ui/`).

    A gate whose state the broker already has is in sync: nothing is sent, nothing changes.
    A gate the catalog no longer has is forgotten at the end of a successful run by the class
    `exportfact` (`exportfact_withdraw`), under the same rules as withdrawn facts: never in
    noop, tagged or failed runs, nor when the run's view came from the cache.

    A broker that cannot be reached fails this resource only, as publishing does; a broker
    too old to take gate reports (`404 route_not_found`) leaves it in sync, with a warning.

    @example What `exportfact::gate('role::keystone', ['db.keystone_url', 'rabbitmq.host>=2'])` declares while the database is unknown
      exportfact_gate { 'role::keystone':
        open     => false,
        requires => ['db.keystone_url', 'rabbitmq.host>=2'],
        missing  => ['db.keystone_url'],
      }
  DOC

  ensurable do
    desc 'Whether the broker knows this gate (`present`), or must forget it (`absent`).'
    defaultvalues
    defaultto :present

    def change_to_s(current, desired)
      return super unless desired == :present && [nil, :absent].include?(current)

      open = resource.should(:open) == :true
      "reported #{open ? 'open' : "waiting for #{Array(resource.should(:missing)).join(', ')}"}"
    end
  end

  newparam(:name, namevar: true) do
    desc "The gate's name, as the broker shows it: 1 to 128 printable ASCII characters (`Exportfact::GateName`)."

    validate do |value|
      next if PuppetX::Exportfact::Names.gate_name?(value)

      raise ArgumentError, "exportfact_gate: name #{value.inspect} must be 1 to 128 printable ASCII characters " \
                           '(exportfact::gate_name makes one of any text)'
    end
  end

  newproperty(:open) do
    desc 'Whether the gate is open: every requirement met (`missing` is empty).'
    newvalues(:true, :false)

    def change_to_s(_current, desired)
      desired == :true ? 'opened' : "closed: waits for #{Array(resource.should(:missing)).join(', ')}"
    end
  end

  newproperty(:requires, array_matching: :all) do
    include PuppetX::Exportfact::RequirementList
    desc 'What the gate needs: `category.name` (the fact is there) or `category.name>=k` (k nodes export it).'
    defaultto []
  end

  newproperty(:missing, array_matching: :all) do
    include PuppetX::Exportfact::RequirementList
    desc 'The requirements not met yet (a subset of `requires`); empty when the gate is open.'
    defaultto []
  end

  autorequire(:file) { [PuppetX::Exportfact::Config.default_path] }

  validate do
    next if self[:ensure] == :absent

    requires = Array(self[:requires])
    missing = Array(self[:missing])
    stray = missing - requires
    raise ArgumentError, "exportfact_gate[#{self[:name]}]: missing #{stray.join(', ')} not in requires" unless stray.empty?

    open = self[:open]
    raise ArgumentError, "exportfact_gate[#{self[:name]}]: open is required" if open.nil?
    next if (open == :true) == missing.empty?

    raise ArgumentError, "exportfact_gate[#{self[:name]}]: open must be #{missing.empty?}: " \
                         "missing is #{missing.empty? ? 'empty' : 'not empty'}"
  end
end
