# frozen_string_literal: true

require 'json'
require 'fileutils'
require 'time'
require_relative 'client'
require_relative 'fact_names'

module PuppetX
  module Exportfact
    # What this node may read, as Facter should show it, and where it came from.
    #
    # One conditional GET /v1/facts per run. The last good answer is kept in a cache file
    # (mode 0600) under Puppet's vardir; when no broker answers, that answer is used and a
    # warning says how old it is. Without a cache the view is empty and `source` is `none`.
    class View
      attr_reader :facts, :per_node, :secrets, :environment, :source, :fetched_at, :error, :url

      # A view fetched in this process less than this many seconds ago is reused (Facter
      # may load the fact file more than once in one run).
      REUSE_SECONDS = 30

      class << self
        # The view of the current run (fetched at most once per REUSE_SECONDS).
        def current(config: nil, client: nil, now: Time.now)
          return @current if @current && @current_at && (now - @current_at) < REUSE_SECONDS && config.nil? && client.nil?
          config ||= Config.load
          @current = fetch(config, client || Client.new(config), now: now)
          @current_at = now
          @current
        end

        def reset
          @current = nil
          @current_at = nil
        end

        # @return [View]
        def fetch(config, client, now: Time.now)
          cache = config.cache ? read_cache(config.cache_file) : nil
          begin
            answer = client.view(etag: cache && cache['etag'])
            body = answer[:status] == 304 && cache ? cache['view'] : answer[:body]
            if answer[:status] == 304 && cache.nil?
              # Cannot happen (we send no tag without a cache), but never trust a 304 alone.
              answer = client.view
              body = answer[:body]
            end
            write_cache(config.cache_file, 'fetched_at' => now.to_i, 'etag' => answer[:etag], 'url' => answer[:url],
                                           'certname' => Puppet[:certname], 'view' => body) if config.cache
            new(body, source: 'broker', fetched_at: now, url: answer[:url])
          rescue Error, JSON::ParserError => e
            from_cache(cache, e.message, now)
          ensure
            client.close
          end
        end

        # The current view body for the providers, as cheaply as possible: a conditional GET
        # with the cached tag (a 304 reuses the cache). Raises Error when no broker answers:
        # publishing must not decide from an old view.
        def fresh_body(config, client)
          cache = config.cache ? read_cache(config.cache_file) : nil
          answer = client.view(etag: cache && cache['etag'])
          return cache['view'] || {} if answer[:status] == 304 && cache

          answer[:status] == 304 ? (client.view[:body] || {}) : (answer[:body] || {})
        end

        def from_cache(cache, message, now)
          if cache && cache['view'].is_a?(Hash)
            fetched = Time.at(cache['fetched_at'].to_i)
            age = (now - fetched).to_i
            warn_log("exportfact: broker unreachable, using the cached view from #{fetched.utc.iso8601} " \
                     "(#{human_age(age)} old): #{message}")
            new(cache['view'], source: 'cache', fetched_at: fetched, error: message, url: cache['url'])
          else
            warn_log("exportfact: broker unreachable and no cached view: exportfact facts are absent " \
                     "and gated roles wait: #{message}")
            new({}, source: 'none', error: message)
          end
        end

        def read_cache(path)
          return nil unless File.file?(path)
          data = JSON.parse(File.read(path))
          return nil unless data.is_a?(Hash)
          # A cache written for another certname (the node was renamed) is not ours.
          return nil if data['certname'] && data['certname'] != Puppet[:certname]
          data
        rescue JSON::ParserError, SystemCallError => e
          warn_log("exportfact: ignoring unreadable cache #{path}: #{e.message}")
          nil
        end

        def write_cache(path, data)
          dir = File.dirname(path)
          FileUtils.mkdir_p(dir, mode: 0o700)
          tmp = "#{path}.#{Process.pid}.tmp"
          File.open(tmp, File::WRONLY | File::CREAT | File::TRUNC, 0o600) do |f|
            f.write(JSON.generate(data))
            f.flush
            f.fsync
          end
          File.chmod(0o600, tmp)
          File.rename(tmp, path)
        rescue SystemCallError => e
          warn_log("exportfact: cannot write cache #{path}: #{e.message}")
          begin
            File.unlink(tmp) if tmp && File.exist?(tmp)
          rescue SystemCallError
            nil
          end
        end

        def human_age(seconds)
          return "#{seconds}s" if seconds < 120
          return "#{seconds / 60}m" if seconds < 7200
          return "#{seconds / 3600}h" if seconds < 172_800
          "#{seconds / 86_400}d"
        end

        def warn_log(message)
          if defined?(Puppet) && Puppet.respond_to?(:warning)
            Puppet.warning(message)
          else
            Facter.warn(message)
          end
        end
      end

      def initialize(body, source:, fetched_at: nil, error: nil, url: nil)
        body = {} unless body.is_a?(Hash)
        @environment = body['environment']
        @facts = hash_or_empty(body['facts'])
        @per_node = hash_or_empty(body['per_node'])
        @secrets = hash_or_empty(body['secrets'])
        @source = source
        @fetched_at = fetched_at
        @error = error
        @url = url
      end

      # `exportfact`: {category => {name => value}}, a per-node fact as {certname => value}.
      def exportfact_fact
        merged = {}
        facts.each { |cat, names| merged[cat] = hash_or_empty(names).dup }
        per_node.each do |cat, names|
          hash_or_empty(names).each { |name, values| (merged[cat] ||= {})[name] = values }
        end
        merged
      end

      # `exportfact_secrets`: {category => {name => version}}; never a value.
      def secrets_fact
        secrets.each_with_object({}) do |(cat, names), out|
          out[cat] = hash_or_empty(names).transform_values { |v| v.is_a?(Hash) ? v['version'] : v }
        end
      end

      # `exportfact_status`: where the view came from.
      def status_fact
        status = { 'source' => source }
        status['url'] = url if url
        status['environment'] = environment if environment
        status['per_node'] = per_node.flat_map { |cat, names| hash_or_empty(names).keys.map { |n| "#{cat}.#{n}" } }.sort
        if source == 'cache'
          status['fetched_at'] = fetched_at.utc.iso8601
          status['age'] = (Time.now - fetched_at).to_i
        end
        status['error'] = error if error
        status
      end

      # Single facts to show as top-level facts: {name => value}, minus names that two
      # categories share (listed in the second element) and names in `taken`.
      # @return [Array(Hash, Array<String>)] top-level facts and the names skipped as ambiguous
      def top_level(taken: [])
        seen = Hash.new { |h, k| h[k] = [] }
        facts.each { |cat, names| hash_or_empty(names).each_key { |n| seen[n] << cat } }
        ambiguous = []
        out = {}
        seen.each do |name, cats|
          if cats.size > 1
            ambiguous << "#{name} (#{cats.sort.join(', ')})"
            next
          end
          next if FactNames.match?(taken, name)
          out[name] = facts[cats.first][name]
        end
        [out, ambiguous]
      end

      private

      def hash_or_empty(v)
        v.is_a?(Hash) ? v : {}
      end
    end
  end
end
