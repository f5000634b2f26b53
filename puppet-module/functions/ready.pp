# @summary Tells whether this node's exportfact facts meet every requirement.
#
# Reads only `$facts['exportfact']` and `$facts['exportfact_secrets']` (facts resolved on the
# agent), never the broker: in agent mode the catalog is compiled on puppetserver, which must
# not ask the broker with its own certificate.
#
# A requirement is `'category.name'` (the fact is there; for a per-node fact, at least one
# node exports it; a secret counts when its version is listed), `'category.name>=k'` or
# `{'fact' => 'category.name', 'min' => k}` (at least k nodes export the per-node fact).
#
# Also declares an `exportfact_gate` that tells the broker at apply time what this gate
# waits for (names only). Its name is made of the requirements, in one shape and sorted
# (`ready db.keystone_url, rabbitmq.host>=2`), so it stays the same from run to run; use
# `exportfact::gate` to give it a name of your own. No requirement, no report.
#
# @param requirements One requirement or a list of them.
# @return [Boolean] true when nothing is missing.
# @example Include a role once the database and a message queue are known
#   if exportfact::ready(['db.keystone_url', 'rabbitmq.host>=2']) {
#     include profile::keystone
#   }
function exportfact::ready(Exportfact::Requirements $requirements) >> Boolean {
  $texts = [$requirements].flatten.map |$requirement| { exportfact::requirement_text($requirement) }.unique.sort
  $texts.empty ? {
    true    => true,
    default => exportfact::report(exportfact::gate_name("ready ${texts.join(', ')}"), $requirements),
  }
}
