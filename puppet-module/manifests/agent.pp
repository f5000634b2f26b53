# @summary Writes `exportfact.yaml` on the node, so that its agent finds the broker without hand edits.
#
# The file lives in Puppet's confdir on the node (the path comes from the node's own
# `exportfact_status` fact; give `path` to put it elsewhere). A setting left `undef` is not
# written and keeps its default (see the module README). The node's fact reads the file at
# the start of each run; the module's resources read it when they run, so publishing in the
# same run already uses a changed file (they are ordered after it).
#
# @param urls
#   Brokers, tried in order (failover). Default: `https://<Puppet's server>:8150`.
# @param connect_timeout
#   Seconds to open a connection (default 3).
# @param read_timeout
#   Seconds to wait for an answer (default 5).
# @param top_level_facts
#   Show each single fact also as `$facts['<name>']`, as the old module did (default true).
# @param cache
#   Keep the last good answer of the broker for outages (default true).
# @param cache_file
#   Where that answer is kept (default `<vardir>/exportfact/view.json`).
# @param path
#   Where to write the file, when not in Puppet's confdir.
#
# @example Two brokers, short timeouts
#   class { 'exportfact::agent':
#     urls            => ['https://broker1.example.com:8150', 'https://broker2.example.com:8150'],
#     connect_timeout => 2,
#   }
# @example From Hiera (common.yaml), with `include exportfact::agent` on every node
#   exportfact::agent::urls:
#     - https://broker.example.com:8150
class exportfact::agent (
  Optional[Array[Exportfact::BrokerUrl, 1]] $urls = undef,
  Optional[Exportfact::Seconds] $connect_timeout = undef,
  Optional[Exportfact::Seconds] $read_timeout = undef,
  Optional[Boolean] $top_level_facts = undef,
  Optional[Boolean] $cache = undef,
  Optional[Exportfact::AbsolutePath] $cache_file = undef,
  Optional[Exportfact::AbsolutePath] $path = undef,
) {
  $config = $path.lest || {
    $facts.dig('exportfact_status', 'config_file').lest || { "${settings::confdir}/exportfact.yaml" }
  }
  $written = {
    'url'             => $urls,
    'connect_timeout' => $connect_timeout,
    'read_timeout'    => $read_timeout,
    'top_level_facts' => $top_level_facts,
    'cache'           => $cache,
    'cache_file'      => $cache_file,
  }.filter |$setting, $value| { $value =~ NotUndef }

  file { $config:
    ensure  => file,
    mode    => '0644',
    content => epp('exportfact/exportfact.yaml.epp', { 'settings' => $written }),
  }
}
