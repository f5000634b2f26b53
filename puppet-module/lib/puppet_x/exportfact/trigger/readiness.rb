# frozen_string_literal: true

require_relative '../names'

module PuppetX
  module Exportfact
    module Trigger
      # Which closed gates of this node the current view would open: pure, no I/O.
      #
      # A gate (GET /v1/gates) lists what it still misses, as {category, name, min}; the view
      # (GET /v1/facts) is what the node's next run will read. The rules are those of
      # `exportfact::seen`: a single fact or a listed secret counts 1, a per-node fact counts
      # its exporting nodes.
      module Readiness
        # @param gates [Array<Hash>] this node's gates, as the broker answers them
        # @param view [Hash] the node's view: {facts, per_node, secrets}
        # @return [Array<Hash>] [{name:, met: ['db.url', 'mq.host>=2']}] the closed gates whose every
        #   missing requirement the view now meets (the gate opens in the node's next run)
        def self.openable(gates, view)
          Array(gates).filter_map do |gate|
            next if gate['open']

            missing = Array(gate['missing'])
            next if missing.empty? || !missing.all? { |r| count(view, r['category'], r['name']) >= (r['min'] || 1).to_i }

            { name: gate['name'], met: missing.map { |r| Names.requirement_text(r['category'], r['name'], r['min'] || 1) } }
          end
        end

        # True when some gate is closed (the node waits for something).
        def self.waiting?(gates)
          Array(gates).any? { |g| !g['open'] }
        end

        # How many values of category.name the view holds (0 when absent).
        def self.count(view, category, name)
          view = {} unless view.is_a?(Hash)
          per_node = view.dig('per_node', category, name)
          return per_node.count { |_node, value| !value.nil? } if per_node.is_a?(Hash)
          return 1 unless dig(view, 'facts', category, name).nil?

          dig(view, 'secrets', category, name).nil? ? 0 : 1
        end

        def self.dig(view, kind, category, name)
          names = view[kind].is_a?(Hash) ? view[kind][category] : nil
          names.is_a?(Hash) ? names[name] : nil
        end
        private_class_method :dig
      end
    end
  end
end
