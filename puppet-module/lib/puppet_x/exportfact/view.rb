# frozen_string_literal: true

require 'time'
require_relative 'fact_names'

module PuppetX
  module Exportfact
    # What this node may read, as Facter should show it, and where it came from (fetched by
    # ViewSource).
    class View
      attr_reader :facts, :per_node, :secrets, :environment, :source, :fetched_at, :error, :url
      # What left the view since the broker's previous answer (ViewNames#update), set by
      # ViewSource on a view the broker answered; nil otherwise.
      attr_accessor :removed

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
        secrets.transform_values do |names|
          hash_or_empty(names).transform_values { |entry| entry.is_a?(Hash) ? entry['version'] : entry }
        end
      end

      # `exportfact_status`: where the view came from, and (from the broker) what left it since.
      def status_fact
        status = { 'source' => source }
        status['url'] = url if url
        status['environment'] = environment if environment
        status['per_node'] = per_node_keys
        status.update('fetched_at' => fetched_at.utc.iso8601, 'age' => (Time.now - fetched_at).to_i) if source == 'cache'
        status['error'] = error if error
        status.update(removed || {})
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

      # The per-node facts, as `category.name`.
      def per_node_keys
        per_node.flat_map { |cat, names| hash_or_empty(names).keys.map { |n| "#{cat}.#{n}" } }.sort
      end

      def hash_or_empty(value)
        value.is_a?(Hash) ? value : {}
      end
    end
  end
end
