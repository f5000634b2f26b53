# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/gate'

# @summary Lists the requirements this node's exportfact facts do not meet yet.
#
# Same requirements and same rules as `exportfact::ready`; reads facts only.
Puppet::Functions.create_function(:'exportfact::missing') do
  # @param requirements One requirement or a list of them.
  # @return [Array[String]] e.g. `['db.url (absent)', 'rabbitmq.host (1 of 2 nodes)']`; empty when ready.
  # @example
  #   $waiting = exportfact::missing(['db.url', 'rabbitmq.host>=2'])
  dispatch :missing do
    param 'Variant[String[1], Hash, Array[Variant[String[1], Hash]]]', :requirements
    return_type 'Array[String]'
  end

  def missing(requirements)
    facts = closure_scope['facts'] || {}
    PuppetX::Exportfact::Gate.missing(facts, requirements)
  rescue ArgumentError => e
    raise Puppet::ParseError, e.message
  end
end
