# @summary Lists the requirements this node's exportfact facts do not meet yet.
#
# Same requirements and same rules as `exportfact::ready`; reads facts only.
#
# @param requirements One requirement or a list of them.
# @return [Array[String]] e.g. `['db.url (absent)', 'rabbitmq.host (1 of 2 nodes)']`; empty when ready.
# @example
#   $waiting = exportfact::missing(['db.url', 'rabbitmq.host>=2'])
function exportfact::missing(Exportfact::Requirements $requirements) >> Array[String] {
  [$requirements].flatten.reduce([]) |$missing, $requirement| {
    $wanted = exportfact::requirement($requirement)
    $seen = exportfact::seen($wanted['key'])
    if $seen >= $wanted['min'] {
      $missing
    } elsif $wanted['min'] == 1 {
      $missing << "${wanted['key']} (absent)"
    } else {
      $missing << "${wanted['key']} (${seen} of ${wanted['min']} nodes)"
    }
  }
}
