# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/run_client'
require_relative '../../../puppet_x/exportfact/view_source'
require_relative '../../../puppet_x/exportfact/values'

Puppet::Type.type(:exportfact_fact).provide(:broker) do
  desc 'Publishes and withdraws facts through the exportfact broker with this node\'s certificate.'

  mk_resource_methods

  # One look at the broker per run: what this node exports, and their current values.
  def self.prefetch(resources)
    client = PuppetX::Exportfact::RunClient.current
    exports = client.exports
    view = PuppetX::Exportfact::ViewSource.fresh_body(client.config, client)
    resources.each_value do |res|
      res.provider = new(state(exports, view, res[:category], res[:fact]))
    end
  rescue PuppetX::Exportfact::Error => e
    # Each resource fails on its own with this message (see #check_prefetch!).
    resources.each_value { |res| res.provider = new(prefetch_error: e.message) }
  end

  # What this node publishes under category.name, from GET /v1/exports and GET /v1/facts.
  def self.state(exports, view, cat, name)
    mine = exports.find { |e| e['category'] == cat && e['name'] == name }
    current = if mine.nil?
                { ensure: :absent }
              elsif mine['multi']
                values = view.dig('per_node', cat, name)
                { ensure: :present, multi: true, value: values.is_a?(Hash) ? values[Puppet[:certname]] : nil, version: mine['version'] }
              else
                { ensure: :present, multi: false, value: view.dig('facts', cat, name), version: mine['version'] }
              end
    current.merge(prefetched: true)
  end

  # The run's connection to the broker ends with the run.
  def self.post_resource_eval
    PuppetX::Exportfact::RunClient.close
  end

  def exists?
    check_prefetch!
    @property_hash[:ensure] == :present
  end

  def value
    check_prefetch!
    @property_hash[:value]
  end

  def create
    publish(resource.should(:value))
  end

  def value=(should)
    publish(should)
  end

  def destroy
    result = with_client { |c| c.withdraw(resource[:category], resource[:fact]) }
    @property_hash[:ensure] = :absent
    Puppet.debug("exportfact: #{key} was not published") if result.nil?
  end

  private

  def key
    "#{resource[:category]}.#{resource[:fact]}"
  end

  def check_prefetch!
    if resource.respond_to?(:sensitive_value?) && resource.sensitive_value?
      raise Puppet::Error, "exportfact: #{key}: refusing a Sensitive value: a value in a manifest lands in the catalog, " \
                           'the report and PuppetDB; secrets are generated and kept by the broker'
    end
    raise Puppet::Error, "exportfact: cannot publish #{key}: #{@property_hash[:prefetch_error]}" if @property_hash[:prefetch_error]
    return if @property_hash[:prefetched]

    # Not prefetched (e.g. a resource created by hand): look it up on its own.
    exports, view = with_client { |c| [c.exports, c.view[:body] || {}] }
    @property_hash = self.class.state(exports, view, resource[:category], resource[:fact])
  end

  def publish(value)
    check_prefetch!
    result = with_client { |c| c.publish(resource[:category], resource[:fact], value, multi: resource[:multi]) }
    @property_hash.update(ensure: :present, value: value, version: result['version'])
  rescue PuppetX::Exportfact::Error => e
    raise Puppet::Error, publish_error(e)
  end

  def publish_error(err)
    case err.code
    when 'fact_owned_by_other'
      "exportfact: cannot publish #{key}: another node already exports it (#{err.message}). " \
      'A single fact has one exporter: remove it from one node, or declare it multi => true on every exporter'
    when 'fact_kind_conflict'
      "exportfact: cannot publish #{key} as #{resource[:multi] ? 'per-node (multi => true)' : 'single'}: " \
      "it is published with the other kind (#{err.message})"
    else
      "exportfact: cannot publish #{key}: #{err.message}"
    end
  end

  def with_client
    yield PuppetX::Exportfact::RunClient.current
  rescue PuppetX::Exportfact::Error => e
    raise e if e.code

    raise Puppet::Error, "exportfact: #{key}: #{e.message}"
  end
end
