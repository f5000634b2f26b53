# frozen_string_literal: true

require 'json'
require 'time'
require_relative 'client'
require_relative 'log'
require_relative 'view'
require_relative 'view_cache'
require_relative 'view_names'

module PuppetX
  module Exportfact
    # Where this run's view comes from: one conditional GET /v1/facts per run. The last good
    # answer is kept (ViewCache); when no broker answers, that answer is used and a warning
    # says how old it is. Without a cache the view is empty and its `source` is `none`.
    module ViewSource
      # A view fetched in this process less than this many seconds ago is reused (Facter
      # may load the fact file more than once in one run).
      REUSE_SECONDS = 30

      # The view of the current run (fetched at most once per REUSE_SECONDS).
      def self.current(config: nil, client: nil, now: Time.now)
        return @current if @current && @current_at && (now - @current_at) < REUSE_SECONDS && config.nil? && client.nil?

        config ||= Config.load
        @current = fetch(config, client || Client.new(config), now: now)
        @current_at = now
        @current
      end

      def self.reset
        @current = nil
        @current_at = nil
      end

      # @return [View]
      def self.fetch(config, client, now: Time.now)
        cache = ViewCache.new(config)
        stored = cache.read
        answer = client.view(etag: stored && stored['etag'])
        body = answer[:status] == 304 && stored ? stored['view'] : answer[:body]
        # A 304 without a cache cannot happen (no tag is sent then), but is never trusted alone.
        answer, body = refetch(client) if answer[:status] == 304 && stored.nil?
        cache.write(answer, body, now)
        removed = ViewNames.new.update(body.is_a?(Hash) ? body : {})
        View.new(body, source: 'broker', fetched_at: now, url: answer[:url]).tap { |view| view.removed = removed }
      rescue Error, JSON::ParserError => e
        from_cache(stored, e.message, now)
      ensure
        client.close
      end

      # The current view body for the providers, as cheaply as possible: a conditional GET
      # with the cached tag (a 304 reuses the cache). Raises Error when no broker answers:
      # publishing must not decide from an old view.
      def self.fresh_body(config, client)
        stored = ViewCache.new(config).read
        answer = client.view(etag: stored && stored['etag'])
        return stored['view'] || {} if answer[:status] == 304 && stored

        (answer[:status] == 304 ? refetch(client).last : answer[:body]) || {}
      end

      def self.from_cache(stored, message, now)
        unless stored && stored['view'].is_a?(Hash)
          Log.warning("exportfact: broker unreachable and no cached view: exportfact facts are absent and gated roles wait: #{message}")
          return View.new({}, source: 'none', error: message)
        end

        fetched = Time.at(stored['fetched_at'].to_i)
        Log.warning("exportfact: broker unreachable, using the cached view from #{fetched.utc.iso8601} " \
                    "(#{ViewCache.human_age((now - fetched).to_i)} old): #{message}")
        View.new(stored['view'], source: 'cache', fetched_at: fetched, error: message, url: stored['url'])
      end

      # A plain GET, when a 304 cannot be used.
      def self.refetch(client)
        answer = client.view
        [answer, answer[:body]]
      end
    end
  end
end
