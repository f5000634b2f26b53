# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/secrets'

Puppet::Type.type(:exportfact_secret_export).provide(:broker) do
  desc 'Publishes a node-held secret (read from a file on the agent) through the exportfact broker with this node\'s certificate.'

  # The run's connection to the broker ends with the run.
  def self.post_resource_eval
    PuppetX::Exportfact::RunClient.close
  end

  def exists?
    mine = with_client(&:exports).find { |e| e['category'] == resource[:category] && e['name'] == resource[:fact] }
    @exported = mine
    !mine.nil?
  end

  def create
    publish
  end

  def destroy
    with_client { |c| c.withdraw(resource[:category], resource[:fact]) }
  end

  # :current when the broker's value (this node's, for a per-node secret) equals the file's.
  def content
    return :absent if @exported && !@exported['sensitive']

    body = published_secret
    return :absent if body.nil?

    published = body.key?('values') ? (body['values'] || {})[Puppet[:certname]] : body['value']
    return :outdated if published.nil?

    PuppetX::Exportfact::Secrets.same?(PuppetX::Exportfact::Secrets.text(published), source_text) ? :current : :outdated
  end

  def content=(_should)
    publish
  end

  def version_note
    @version ? " version #{@version}" : ''
  end

  private

  # The broker's answer for this secret, nil when it holds none.
  def published_secret
    with_client { |c| c.secret(resource[:category], resource[:fact]) }
  rescue Puppet::Error => e
    raise unless e.cause.is_a?(PuppetX::Exportfact::Error) && e.cause.code == 'secret_not_found'

    nil
  end

  def source_text
    @source_text ||= PuppetX::Exportfact::Secrets.read_source(resource[:source], chomp: resource[:chomp])
  rescue ArgumentError => e
    raise Puppet::Error, "exportfact: cannot publish secret #{resource.key}: #{e.message}"
  end

  def publish
    text = source_text
    result = with_client { |c| c.publish(resource[:category], resource[:fact], text, multi: resource[:multi], sensitive: true) }
    @version = result['version']
  end

  def with_client
    yield PuppetX::Exportfact::RunClient.current
  rescue PuppetX::Exportfact::Error => e
    raise Puppet::Error, "exportfact: secret #{resource.key}: #{e.message}#{hint(e)}"
  end

  def hint(err)
    case err.code
    when 'secret_generated' then ' (the broker generates this secret; a node cannot publish over it)'
    when 'fact_owned_by_other' then ' (another node already publishes it; declare multi => true on every exporter for one value per node)'
    when 'fact_kind_conflict' then ' (it is published as a plain fact, or with the other multi kind: withdraw it first)'
    else ''
    end
  end
end
