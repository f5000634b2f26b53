# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/gate'

# @summary Like `exportfact::ready`, and when not ready, says in the agent's run what is awaited.
#
# When a requirement is not met, declares (in the calling class) a `notify` resource
# titled `exportfact: <what> waits for ...`, so the wait shows in the agent's own run output
# and in its report, not only in a server-side log. Reads facts only, never the broker.
Puppet::Functions.create_function(:'exportfact::gate', Puppet::Functions::InternalFunction) do
  # @param what What waits (a role name, shown in the run).
  # @param requirements As for `exportfact::ready`.
  # @return [Boolean] true when nothing is missing.
  # @example A role that waits for a database and two queue nodes
  #   class role::keystone {
  #     include exportfact
  #     if exportfact::gate('role::keystone', ['db.keystone_url', 'rabbitmq.host>=2']) {
  #       include profile::keystone
  #     }
  #   }
  dispatch :gate do
    scope_param
    param 'String[1]', :what
    param 'Variant[String[1], Hash, Array[Variant[String[1], Hash]]]', :requirements
    return_type 'Boolean'
  end

  def gate(scope, what, requirements)
    facts = scope['facts'] || {}
    missing = begin
      PuppetX::Exportfact::Gate.missing(facts, requirements)
    rescue ArgumentError => e
      raise Puppet::ParseError, e.message
    end
    return true if missing.empty?

    status = facts['exportfact_status']
    source = status.is_a?(Hash) ? status['source'] : nil
    note = source && source != 'broker' ? " (exportfact view from #{source})" : ''
    message = "exportfact: #{what} waits for #{missing.join(', ')}#{note}"
    title = "exportfact gate #{what}"
    return false if scope.catalog.resource('Notify', title)

    call_function('create_resources', 'notify', { title => { 'message' => message } })
    false
  end
end
