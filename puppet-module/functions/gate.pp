# @summary Like `exportfact::ready`, and when not ready, says in the agent's run what is awaited.
#
# When a requirement is not met, declares a `notify` resource titled
# `exportfact gate <what>`, whose message says what is awaited, so the wait shows in the
# agent's own run output and in its report, not only in a server-side log. Reads facts only,
# never the broker.
#
# Also declares an `exportfact_gate` named `<what>` (made to fit by `exportfact::gate_name`
# when it is not 1 to 128 printable ASCII characters): at apply time it tells the broker,
# with the node's certificate, whether the gate is open and what it waits for (names only),
# so that `exportfact waits` and the broker's page show who waits on what.
#
# @param what What waits (a role name, shown in the run and on the broker's page).
# @param requirements As for `exportfact::ready`.
# @return [Boolean] true when nothing is missing.
# @example A role that waits for a database and two queue nodes
#   class role::keystone {
#     include exportfact
#     if exportfact::gate('role::keystone', ['db.keystone_url', 'rabbitmq.host>=2']) {
#       include profile::keystone
#     }
#   }
function exportfact::gate(String[1] $what, Exportfact::Requirements $requirements) >> Boolean {
  exportfact::report(exportfact::gate_name($what), $requirements)
  $missing = exportfact::missing($requirements)
  unless $missing.empty {
    $source = $facts.dig('exportfact_status', 'source')
    $note = $source ? {
      undef    => '',
      'broker' => '',
      default  => " (exportfact view from ${source})",
    }
    $title = "exportfact gate ${what}"
    unless defined(Notify[$title]) {
      notify { $title:
        message => "exportfact: ${what} waits for ${missing.join(', ')}${note}",
      }
    }
  }
  $missing.empty
}
