# frozen_string_literal: true

require 'json'
require 'fileutils'
require_relative 'files'
require_relative 'log'

module PuppetX
  module Exportfact
    # What left this node's view since the broker's previous answer: the names of the last
    # view (names and, for per-node facts, the exporting nodes; never a value) are kept in
    # <vardir>/exportfact/names.json (0600, for this certname only), whether or not the view
    # itself is cached. A deactivated or expired exporter's facts leave every view; a
    # manifest that listed it (a backend in a configuration file) learns so in the one run
    # that follows: `exportfact_status['removed']` and `['removed_exporters']`.
    class ViewNames
      # @param path [String] default <vardir>/exportfact/names.json
      def initialize(path = File.join(Puppet[:vardir], 'exportfact', 'names.json'))
        @path = path
      end

      # The names of a view body: {'names' => ['category.name', …], 'exporters' => {'category.name' => [certname, …]}}
      def self.of(body)
        names = []
        exporters = {}
        each_name(body['facts']) { |key, _| names << key }
        each_name(body['secrets']) { |key, _| names << key }
        each_name(body['per_node']) do |key, values|
          names << key
          exporters[key] = values.keys.sort if values.is_a?(Hash)
        end
        { 'names' => names.uniq.sort, 'exporters' => exporters }
      end

      def self.each_name(section, &block)
        return unless section.is_a?(Hash)

        section.each do |category, names|
          next unless names.is_a?(Hash)

          names.each { |name, value| block.call("#{category}.#{name}", value) }
        end
      end

      # Compares a view the broker answered with the previous one and keeps its names.
      # @return [Hash] {'removed' => ['category.name', …], 'removed_exporters' => {'category.name' => [certname, …]}}
      #   (both empty on the first run: nothing was seen before)
      def update(body)
        now = self.class.of(body)
        before = read
        write(now) unless before == now
        return { 'removed' => [], 'removed_exporters' => {} } unless before

        { 'removed' => before['names'] - now['names'], 'removed_exporters' => removed_exporters(before, now) }
      end

      private

      # Per-node facts still in the view that lost exporters (a fact gone altogether is in 'removed').
      def removed_exporters(before, now)
        before['exporters'].each_with_object({}) do |(key, nodes), out|
          next unless now['exporters'].key?(key)

          gone = nodes - now['exporters'][key]
          out[key] = gone unless gone.empty?
        end
      end

      def read
        return nil unless File.file?(@path)

        data = JSON.parse(File.read(@path))
        return nil unless data.is_a?(Hash) && data['certname'] == Puppet[:certname]
        return nil unless data['names'].is_a?(Array) && data['exporters'].is_a?(Hash)

        { 'names' => data['names'], 'exporters' => data['exporters'] }
      rescue JSON::ParserError, SystemCallError => e
        Log.warning("exportfact: ignoring unreadable #{@path}: #{e.message}")
        nil
      end

      def write(names)
        FileUtils.mkdir_p(File.dirname(@path), mode: 0o700)
        Files.write_atomically(@path, JSON.generate(names.merge('certname' => Puppet[:certname])), mode: 0o600)
      rescue SystemCallError, ArgumentError => e
        Log.warning("exportfact: cannot write #{@path}: #{e.message}")
      end
    end
  end
end
