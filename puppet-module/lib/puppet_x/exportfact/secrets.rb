# frozen_string_literal: true

require_relative 'run_client'
require_relative 'secrets/request'
require_relative 'secrets/text'
require_relative 'secrets/source'
require_relative 'secrets/functions'

module PuppetX
  module Exportfact
    # Secrets on the agent side: fetched from the broker at apply time (by a provider or a
    # Deferred function), never put in facts, the catalog, a report or a cache on disk.
    #
    # Everything here keeps the value out of messages: errors name the secret, the URL, the
    # HTTP status and the broker's error code, never the value.
    module Secrets
      # Secrets fetched in this run, per owner (a catalog, or the compiler resolving Deferred
      # values): in memory only, gone with the run.
      @caches = ObjectSpace::WeakMap.new
      @caches_lock = Mutex.new

      def self.cache_for(owner)
        return {} if owner.nil?

        @caches_lock.synchronize { @caches[owner] ||= {} }
      end

      # The value of a secret: a single secret's value, or {certname => value} for a per-node
      # one. Raises PuppetX::Exportfact::Error (status and code from the broker).
      # @param cache [Hash, nil] answers already fetched in this run
      # @return [Hash] {'value' => value, 'version' => Integer, 'created' => Boolean|nil}
      def self.fetch(req, client: nil, cache: nil)
        return cache[req.cache_key] if cache&.key?(req.cache_key)

        client ||= RunClient.current
        body = if req.generate
                 client.generate(req.category, req.name, length: req.generate['length'], alphabet: req.generate['alphabet'])
               else
                 client.secret(req.category, req.name, version: req.version)
               end
        result = { 'value' => body.key?('values') ? body['values'] : body['value'], 'version' => body['version'],
                   'created' => body['created'] }
        raise Error, "the broker's answer for #{req.key} holds no value" if result['value'].nil?

        cache[req.cache_key] = result if cache
        result
      end

      # A message for a failed fetch: what was asked, and why (status and API code), no value.
      def self.describe_error(req, err, what: 'secret')
        base = "exportfact: cannot fetch #{what} #{req.key}"
        base += " version #{req.version}" if req.version
        code = err.respond_to?(:code) ? err.code : nil
        hint = if code == 'secret_not_found' && !req.generate
                 ' (not published yet, or not readable by this node; generate => {...} asks the broker to make it)'
               elsif code == 'secret_not_generated'
                 ' (a node publishes it: read it without generate)'
               elsif err.respond_to?(:status) && err.status == 403
                 ' (the broker\'s policy does not let this node have it)'
               else
                 ''
               end
        "#{base}: #{err.message}#{hint}"
      end
    end
  end
end
