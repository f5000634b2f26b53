# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/names'
require_relative '../../../puppet_x/exportfact/run_client'

Puppet::Type.type(:exportfact_gate).provide(:broker) do
  desc 'Reports gates to the exportfact broker (PUT /v1/gates/{name}) with this node\'s certificate.'

  mk_resource_methods

  # One look at the broker per run: the gates this node reported before (GET /v1/gates).
  def self.prefetch(resources)
    reported = PuppetX::Exportfact::RunClient.current.gates.to_h { |g| [g['name'], g] }
    resources.each_value { |res| res.provider = new(state(reported[res[:name]])) }
  rescue PuppetX::Exportfact::Error => e
    if e.code == 'route_not_found'
      # A broker older than this module: the run goes on as before, without reports.
      Puppet.warning("exportfact: the broker takes no gate reports (#{e.message}); gates are not reported until it is upgraded")
      resources.each_value { |res| res.provider = new(unsupported: true) }
    else
      # Each resource fails on its own with this message (see #exists?).
      resources.each_value { |res| res.provider = new(prefetch_error: e.message) }
    end
  end

  # A gate as the broker has it, in the type's terms.
  def self.state(gate)
    return { ensure: :absent } unless gate

    { ensure: :present, open: gate['open'] ? :true : :false, requires: texts(gate['requires']), missing: texts(gate['missing']) }
  end

  def self.texts(requirements)
    Array(requirements).map { |r| PuppetX::Exportfact::Names.requirement_text(r['category'], r['name'], r['min'] || 1) }
  end

  def self.post_resource_eval
    PuppetX::Exportfact::RunClient.close
  end

  def exists?
    error = @property_hash[:prefetch_error]
    raise Puppet::Error, "exportfact: cannot report gate #{resource[:name]}: #{error}" if error

    # Unsupported: what the catalog says is taken as what the broker has.
    @property_hash = desired.merge(ensure: :present) if @property_hash[:unsupported]
    @property_hash[:ensure] == :present
  end

  def create
    report
  end

  # Properties changed on a gate the broker has: one PUT after all of them (see #flush).
  [:open, :requires, :missing].each do |property|
    define_method(:"#{property}=") { |_value| @changed = true }
  end

  def flush
    report if @changed
  end

  # Forgets this gate: the broker forgets a node's gates by the list of those it keeps.
  def destroy
    client = PuppetX::Exportfact::RunClient.current
    keep = client.gates.map { |g| g['name'] } - [resource[:name]]
    client.prune_gates(keep)
    @property_hash = { ensure: :absent }
  rescue PuppetX::Exportfact::Error => e
    raise Puppet::Error, "exportfact: cannot forget gate #{resource[:name]}: #{e.message}"
  end

  private

  def desired
    { open: resource.should(:open), requires: Array(resource.should(:requires)), missing: Array(resource.should(:missing)) }
  end

  def report
    wanted = desired
    parse = ->(list) { list.map { |text| PuppetX::Exportfact::Names.requirement(text) } }
    PuppetX::Exportfact::RunClient.current.report_gate(resource[:name], open: wanted[:open] == :true,
                                                                        requires: parse.call(wanted[:requires]),
                                                                        missing: parse.call(wanted[:missing]))
    @property_hash = wanted.merge(ensure: :present)
    @changed = false
  rescue PuppetX::Exportfact::Error => e
    raise Puppet::Error, "exportfact: cannot report gate #{resource[:name]}: #{e.message}"
  end
end
