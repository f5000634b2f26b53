# @summary The name a gate is reported under: the text itself, or a stable name made of it.
#
# The broker takes 1 to 128 printable ASCII characters. A text that fits is the name as it
# is; any other (too long, or with characters outside printable ASCII) becomes its first
# characters, those outside printable ASCII as `?`, followed by ` #` and 12 hexadecimal
# digits of its SHA-256, so that two texts never share a name by being cut alike.
#
# @api private
#
# @param what What waits (`exportfact::gate`'s first argument), or the text of a requirement list.
# @return [Exportfact::GateName] the name.
function exportfact::gate_name(String[1] $what) >> Exportfact::GateName {
  if $what =~ Exportfact::GateName {
    $what
  } else {
    $shown = regsubst($what, /[^ -~]/, '?', 'G')
    "${shown[0, 114]} #${sha256($what)[0, 12]}"
  }
}
