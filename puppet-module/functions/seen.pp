# @summary How many values of a fact this node sees.
#
# 1 for a single fact or a listed secret, the exporting nodes of a per-node fact, 0 when absent.
#
# @api private
#
# @param key `category.name`
# @return [Integer[0]] the count.
function exportfact::seen(Exportfact::Key $key) >> Integer[0] {
  $address = $key.split('\.')
  $value = $facts.dig('exportfact', *$address)
  # A per-node value is {certname => value}. exportfact_status lists the per-node facts, which
  # tells them apart from a single fact whose value is a hash.
  $per_node = $facts.dig('exportfact_status', 'per_node')
  if $value =~ Undef {
    $facts.dig('exportfact_secrets', *$address) ? { undef => 0, default => 1 }
  } elsif $value =~ Hash and ($per_node !~ Array or $key in $per_node) {
    $value.filter |$node, $node_value| { $node_value !~ Undef }.length
  } else {
    1
  }
}
