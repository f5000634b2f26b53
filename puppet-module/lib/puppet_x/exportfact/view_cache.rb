# frozen_string_literal: true

require 'json'
require 'fileutils'
require_relative 'files'
require_relative 'log'

module PuppetX
  module Exportfact
    # The last good view of the broker, kept for outages: `cache_file` of exportfact.yaml
    # (default <vardir>/exportfact/view.json), mode 0600 in a 0700 folder, for this certname
    # only. Neither reading nor writing it ever fails a run: a problem is a warning.
    class ViewCache
      # @param config [Config] whether to cache, and where
      def initialize(config)
        @enabled = config.cache
        @path = config.cache_file
      end

      # @return [Hash, nil] {'fetched_at', 'etag', 'url', 'certname', 'view'}
      def read
        return nil unless @enabled && File.file?(@path)

        data = JSON.parse(File.read(@path))
        return nil unless data.is_a?(Hash)
        # A cache written for another certname (the node was renamed) is not ours.
        return nil if data['certname'] && data['certname'] != Puppet[:certname]

        data
      rescue JSON::ParserError, SystemCallError => e
        Log.warning("exportfact: ignoring unreadable cache #{@path}: #{e.message}")
        nil
      end

      # Keeps a view the broker answered with.
      # @param answer [Hash] {etag:, url:} of Client#view
      def write(answer, body, now)
        return unless @enabled

        FileUtils.mkdir_p(File.dirname(@path), mode: 0o700)
        data = { 'fetched_at' => now.to_i, 'etag' => answer[:etag], 'url' => answer[:url], 'certname' => Puppet[:certname], 'view' => body }
        Files.write_atomically(@path, JSON.generate(data), mode: 0o600)
      rescue SystemCallError, ArgumentError => e
        Log.warning("exportfact: cannot write cache #{@path}: #{e.message}")
      end

      # "42s", "12m", "5h", "3d"
      def self.human_age(seconds)
        return "#{seconds}s" if seconds < 120
        return "#{seconds / 60}m" if seconds < 7200
        return "#{seconds / 3600}h" if seconds < 172_800

        "#{seconds / 86_400}d"
      end
    end
  end
end
