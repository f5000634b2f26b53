# frozen_string_literal: true

require 'json'
require_relative 'paths'

module PuppetX
  module Exportfact
    # The gate requests of docs/api.md (Gates), included in Client, whose #request they use:
    # a node reports what its gates wait for, names only, and forgets those it no longer has.
    module GateRequests
      # GET /v1/gates: what this node reported of its gates, [{name, open, requires, missing, since, opened_at}]
      # (requirements as {category, name, min}).
      def gates
        request(:get, '/v1/gates', accept: [200]) { |resp, url| parse(resp, url)['gates'] || [] }
      end

      # PUT /v1/gates/{name}: what one gate waits for, names only, never a value.
      # @param requires [Array<Array(String, String, Integer)>] category, name, min
      # @param missing [Array<Array(String, String, Integer)>] those not met
      def report_gate(name, open:, requires:, missing:)
        body = JSON.generate('open' => open ? true : false, 'requires' => requirements(requires), 'missing' => requirements(missing))
        request(:put, Paths.gate(name), body: body, accept: [200]) { |resp, url| parse(resp, url) }
      end

      # POST /v1/gates/prune: forgets the gates of this node not in keep; returns their names.
      def prune_gates(keep)
        body = JSON.generate('keep' => keep)
        request(:post, '/v1/gates/prune', body: body, accept: [200]) { |resp, url| parse(resp, url)['removed'] || [] }
      end

      private

      def requirements(list)
        list.map { |category, name, min| { 'category' => category, 'name' => name, 'min' => min } }
      end
    end
  end
end
