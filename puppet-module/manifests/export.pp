# @summary Publishes one fact of this node (the old module's interface, kept).
#
# Same use as the old module: `exportfact::export { 'http_proxy_host': value => ..., category => 'http_proxy' }`.
# Now a wrapper around `exportfact_fact`: the value reaches readers in their first run after
# this one (not the second), and disappears from them when the export is removed from the
# manifests. Also removes the old module's `facts.d/<category>.txt` on this node.
#
# @param value
#   The value (string, number, boolean, array or hash). Not `Sensitive`: a value written in a
#   manifest lands in the catalog; the old module silently wrote the word "Sensitive".
# @param category
#   The category (logical group) the fact belongs to.
# @param multi
#   Per-node fact: every exporting node has its own value; readers see `{certname => value}`.
#   Needed when several nodes export the same name (the old module failed every reader's run).
#
# @example The old README's example
#   node alice {
#     include exportfact
#     exportfact::export { 'http_proxy_host':
#       value    => $facts['networking']['hostname'],
#       category => 'http_proxy',
#     }
#   }
define exportfact::export (
  Variant[String, Numeric, Boolean, Array, Hash, Sensitive] $value,
  Exportfact::Name $category = 'fact',
  Boolean $multi = false,
) {
  include exportfact

  if $value =~ Sensitive {
    fail(@("MSG"/L))
      exportfact::export[${title}]: refusing a Sensitive value: a value in a manifest lands in the catalog; \
      secrets are generated and kept by the broker
      | MSG
  }
  unless $title =~ Exportfact::Name {
    fail("exportfact::export[${title}]: the title is the fact's name and must match ^[a-z][a-z0-9_]*$")
  }

  if !defined(Exportfact::Old_facts[$category]) {
    exportfact::old_facts { $category: }
  }

  exportfact_fact { "${category}.${title}":
    value => $value,
    multi => $multi,
  }
}
