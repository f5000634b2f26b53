# @summary Removes the external-fact file `<old_factsdir>/<category>.txt` the old exportfact module wrote.
#
# External facts override custom ones: a value left there by the old module would win over
# the broker's forever. Declared by `exportfact::export`, `exportfact::import` and
# `exportfact::old_categories`; safe to declare twice through those.
#
# @param category The category whose old file goes.
define exportfact::old_facts (
  Exportfact::Name $category = $title,
) {
  include exportfact

  $path = "${exportfact::old_factsdir}/${category}.txt"
  if !defined(File[$path]) {
    file { $path:
      ensure => absent,
    }
  }
}
