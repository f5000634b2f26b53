# frozen_string_literal: true

require 'yaml'

module PuppetX
  module Exportfact
    # Settings of the agent side, read from `exportfact.yaml` in Puppet's confdir.
    #
    # Keys (all optional):
    #   url:              String or Array of Strings, tried in order (failover).
    #                     Default: https://<Puppet[:server]>:8150
    #   connect_timeout:  seconds to open a connection (default 3)
    #   read_timeout:     seconds to wait for an answer (default 5)
    #   top_level_facts:  expose each single fact as a top-level fact (default true)
    #   cache:            keep and use the last good view when the broker is down (default true)
    #   cache_file:       where that view is kept (default <vardir>/exportfact/view.json)
    class Config
      FILE_NAME = 'exportfact.yaml'
      DEFAULT_PORT = 8150
      DEFAULTS = {
        'connect_timeout' => 3,
        'read_timeout' => 5,
        'top_level_facts' => true,
        'cache' => true,
      }.freeze
      KNOWN_KEYS = (DEFAULTS.keys + ['url', 'cache_file']).freeze

      attr_reader :urls, :connect_timeout, :read_timeout, :top_level_facts, :cache, :cache_file, :path, :warnings

      # exportfact.yaml in this node's Puppet confdir (the class exportfact::agent writes it there).
      def self.default_path
        File.join(Puppet[:confdir], FILE_NAME)
      end

      # @param path [String, nil] exportfact.yaml (default: in Puppet's confdir)
      # @param data [Hash, nil] settings given directly (tests)
      def self.load(path = nil, data: nil)
        path ||= default_path
        if data.nil?
          data = File.exist?(path) ? YAML.safe_load(File.read(path)) : {}
          data ||= {}
        end
        raise ArgumentError, "#{path}: expected a mapping of settings, got #{data.class}" unless data.is_a?(Hash)

        new(data, path)
      end

      def initialize(data, path = nil)
        @path = path
        @warnings = []
        unknown = data.keys.map(&:to_s) - KNOWN_KEYS
        @warnings << "#{path}: unknown setting(s) #{unknown.join(', ')} ignored" unless unknown.empty?
        merged = DEFAULTS.merge(data.transform_keys(&:to_s))
        @urls = parse_urls(merged['url'])
        @connect_timeout = positive_number(merged, 'connect_timeout')
        @read_timeout = positive_number(merged, 'read_timeout')
        @top_level_facts = boolean(merged, 'top_level_facts')
        @cache = boolean(merged, 'cache')
        @cache_file = merged['cache_file'] || File.join(Puppet[:vardir], 'exportfact', 'view.json')
      end

      # What a connection depends on: a client is replaced when this changes.
      def connection_settings
        [urls, connect_timeout, read_timeout]
      end

      private

      def parse_urls(value)
        list = case value
               when nil then ["https://#{Puppet[:server]}:#{DEFAULT_PORT}"]
               when String then [value]
               when Array then value
               else raise ArgumentError, "#{@path}: url must be a string or a list of strings"
               end
        raise ArgumentError, "#{@path}: url must not be an empty list" if list.empty?

        list.map do |u|
          raise ArgumentError, "#{@path}: url entries must be strings, got #{u.inspect}" unless u.is_a?(String)
          raise ArgumentError, "#{@path}: url #{u} must start with https://" unless u.start_with?('https://')

          u.chomp('/')
        end
      end

      def positive_number(data, key)
        v = data[key]
        raise ArgumentError, "#{@path}: #{key} must be a positive number, got #{v.inspect}" unless v.is_a?(Numeric) && v.positive?

        v
      end

      def boolean(data, key)
        v = data[key]
        raise ArgumentError, "#{@path}: #{key} must be true or false, got #{v.inspect}" unless [true, false].include?(v)

        v
      end
    end
  end
end
