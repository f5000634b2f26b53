# frozen_string_literal: true

# @summary Returns one exported fact as this node sees it, or a default.
#
# Reads `$facts['exportfact'][category][name]` only (never the broker). A per-node fact
# comes back as `{certname => value}`.
Puppet::Functions.create_function(:'exportfact::value') do
  # @param key `category.name`
  # @param default What to return when the fact is absent (default `undef`).
  # @return [Any] the value, or the default.
  # @example
  #   $db_url = exportfact::value('db.keystone_url')
  #   $mq_hosts = exportfact::value('rabbitmq.host', {}).values.sort
  dispatch :value do
    param 'Pattern[/\A[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\z/]', :key
    optional_param 'Any', :default
  end

  def value(key, default = nil)
    category, name = key.split('.', 2)
    view = (closure_scope['facts'] || {})['exportfact']
    cat = view.is_a?(Hash) ? view[category] : nil
    v = cat.is_a?(Hash) ? cat[name] : nil
    v.nil? ? default : v
  end
end
