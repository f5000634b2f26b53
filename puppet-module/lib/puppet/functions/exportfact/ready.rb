# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/gate'

# @summary Tells whether this node's exportfact facts meet every requirement.
#
# Reads only `$facts['exportfact']` and `$facts['exportfact_secrets']` (facts resolved on the
# agent), never the broker: in agent mode the catalog is compiled on puppetserver, which must
# not ask the broker with its own certificate.
#
# A requirement is `'category.name'` (the fact is there; for a per-node fact, at least one
# node exports it; a secret counts when its version is listed), `'category.name>=k'` or
# `{'fact' => 'category.name', 'min' => k}` (at least k nodes export the per-node fact).
Puppet::Functions.create_function(:'exportfact::ready') do
  # @param requirements One requirement or a list of them.
  # @return [Boolean] true when nothing is missing.
  # @example Include a role once the database and a message queue are known
  #   if exportfact::ready(['db.keystone_url', 'rabbitmq.host>=2']) {
  #     include profile::keystone
  #   }
  dispatch :ready do
    param 'Variant[String[1], Hash, Array[Variant[String[1], Hash]]]', :requirements
    return_type 'Boolean'
  end

  def ready(requirements)
    facts = closure_scope['facts'] || {}
    PuppetX::Exportfact::Gate.ready?(facts, requirements)
  rescue ArgumentError => e
    raise Puppet::ParseError, e.message
  end
end
