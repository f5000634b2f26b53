# @summary A requirement written in one shape: `category.name`, or `category.name>=k` when k > 1.
#
# How gates report what they need (`exportfact_gate`), and how `exportfact::ready` names its gate.
#
# @api private
#
# @param requirement `category.name`, `category.name>=k` or `{fact => 'category.name', min => k}`.
# @return [String] e.g. `db.url`, `rabbitmq.host>=2`.
function exportfact::requirement_text(Exportfact::Requirement $requirement) >> String {
  $wanted = exportfact::requirement($requirement)
  $wanted['min'] > 1 ? {
    true    => "${wanted['key']}>=${wanted['min']}",
    default => $wanted['key'],
  }
}
