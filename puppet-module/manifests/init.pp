# @summary Shares facts between nodes through the exportfact broker; include it on every node that publishes or reads.
#
# Declares, in a run stage after `main`, the resource that withdraws at the end of a
# successful run the facts this node published and its catalog no longer declares (see
# `exportfact_withdraw`: never in noop, tagged or failed runs, nor when this run's view came
# from the cache). Also removes the `facts.d/<category>.txt` files of the old exportfact
# module listed in `old_categories` (`exportfact::export` and `exportfact::import` remove theirs).
#
# Reading needs no resource: the custom fact `exportfact` is there on every node that has
# this module (pluginsync), configured by `exportfact.yaml` in Puppet's confdir.
#
# @param withdraw
#   Withdraw facts no longer declared (the latest catalog decides what a node publishes).
# @param old_factsdir
#   Where the old exportfact module wrote its `<category>.txt` external facts.
# @param old_categories
#   More categories whose old external-fact file must go (beyond those this catalog exports or imports).
#
# @example Old-style use, unchanged
#   include exportfact
#   exportfact::import { 'http_proxy': }
class exportfact (
  Boolean $withdraw = true,
  Pattern[/\A\//] $old_factsdir = '/etc/facter/facts.d',
  Array[Exportfact::Name] $old_categories = [],
) {
  if $withdraw {
    stage { 'exportfact_withdraw':
      require => Stage['main'],
    }
    class { 'exportfact::withdraw':
      stage => 'exportfact_withdraw',
    }
  }

  $old_categories.each |$category| {
    exportfact::old_facts { $category: }
  }
}
