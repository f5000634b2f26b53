# @summary A requirement in one shape: `{key => 'category.name', min => k}`.
#
# @api private
#
# @param requirement `category.name`, `category.name>=k` or `{fact => 'category.name', min => k}`.
# @return [Struct[{key => Exportfact::Key, min => Integer[1]}]] the fact and how many nodes must export it.
function exportfact::requirement(
  Exportfact::Requirement $requirement,
) >> Struct[{ key => Exportfact::Key, min => Integer[1] }] {
  if $requirement =~ Hash {
    $result = { 'key' => $requirement['fact'], 'min' => $requirement.get('min').lest || { 1 } }
  } else {
    $parts = $requirement.split(/\s*>=\s*/)
    $result = { 'key' => $parts[0], 'min' => $parts[1].then |$min| { Integer.new($min, 10) }.lest || { 1 } }
  }
  $result
}
