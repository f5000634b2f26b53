# @summary Reads a category of facts (the old module's interface, kept).
#
# With the broker, a node reads every fact it may see without declaring anything (fact
# `exportfact`, and single facts as top-level facts such as `$facts['http_proxy_host']`).
# This type is kept so old manifests compile unchanged: it removes the old module's
# `facts.d/<category>.txt` file, whose stale values would otherwise override the broker's.
#
# @example The old README's example
#   include exportfact
#   exportfact::import { 'http_proxy': }
define exportfact::import () {
  include exportfact

  unless $title =~ Exportfact::Name {
    fail("exportfact::import[${title}]: the title is a category and must match ^[a-z][a-z0-9_]*$")
  }

  if !defined(Exportfact::Old_facts[$title]) {
    exportfact::old_facts { $title: }
  }
}
