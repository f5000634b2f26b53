# @summary Declares the `exportfact_gate` that tells the broker what a gate waits for (once per name).
#
# Called by `exportfact::gate` and `exportfact::ready` where the catalog is compiled; the
# resource sends the report at apply time with the node's certificate. Names only, never
# a value. A gate of the same name declared again (the same role evaluated twice) keeps
# its first declaration.
#
# @api private
#
# @param name The gate's name (`exportfact::gate_name`).
# @param requirements As for `exportfact::ready`.
# @return [Boolean] true when nothing is missing.
function exportfact::report(Exportfact::GateName $name, Exportfact::Requirements $requirements) >> Boolean {
  $requires = [$requirements].flatten.map |$requirement| { exportfact::requirement_text($requirement) }.unique
  $missing = [$requirements].flatten.filter |$requirement| {
    $wanted = exportfact::requirement($requirement)
    exportfact::seen($wanted['key']) < $wanted['min']
  }.map |$requirement| { exportfact::requirement_text($requirement) }.unique
  unless defined(Exportfact_gate[$name]) {
    exportfact_gate { $name:
      open     => $missing.empty,
      requires => $requires,
      missing  => $missing,
    }
  }
  $missing.empty
}
