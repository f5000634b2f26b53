# @summary Returns one exported fact as this node sees it, or a default.
#
# Reads `$facts['exportfact'][category][name]` only (never the broker). A per-node fact
# comes back as `{certname => value}`.
#
# @param key `category.name`
# @param default What to return when the fact is absent (default `undef`).
# @return [Any] the value, or the default.
# @example
#   $db_url = exportfact::value('db.keystone_url')
#   $mq_hosts = exportfact::value('rabbitmq.host', {}).values.sort
function exportfact::value(Exportfact::Key $key, Any $default = undef) >> Any {
  $facts.dig('exportfact', *$key.split('\.')).lest || { $default }
}
