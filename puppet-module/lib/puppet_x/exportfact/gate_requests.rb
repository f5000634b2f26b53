# frozen_string_literal: true

require 'json'
require_relative 'paths'

module PuppetX
  module Exportfact
    # The gate requests of docs/api.md (Gates), included in Client, whose #request they use:
    # a node reports what its gates wait for, names only, and forgets those it no longer has.
    #
    # GET /v1/gates is asked once per run (until #forget_gates, which Client#close calls): the
    # gate provider's prefetch and the withdrawal both need the list, and only this node changes
    # its own gates, through this client, which keeps the list up to date as it reports and prunes.
    module GateRequests
      # GET /v1/gates: what this node reported of its gates, [{name, open, requires, missing, since, opened_at}]
      # (requirements as {category, name, min}).
      def gates
        @gates ||= request(:get, '/v1/gates', accept: [200]) { |resp, url| parse(resp, url)['gates'] || [] }
      end

      # PUT /v1/gates/{name}: what one gate waits for, names only, never a value.
      # @param requires [Array<Array(String, String, Integer)>] category, name, min
      # @param missing [Array<Array(String, String, Integer)>] those not met
      def report_gate(name, open:, requires:, missing:)
        gate = { 'open' => open ? true : false, 'requires' => requirements(requires), 'missing' => requirements(missing) }
        answer = request(:put, Paths.gate(name), body: JSON.generate(gate), accept: [200]) { |resp, url| parse(resp, url) }
        @gates = @gates.reject { |g| g['name'] == name } + [gate.merge('name' => name)] if @gates
        answer
      end

      # POST /v1/gates/prune: forgets the gates of this node not in keep; returns their names.
      def prune_gates(keep)
        body = JSON.generate('keep' => keep)
        removed = request(:post, '/v1/gates/prune', body: body, accept: [200]) { |resp, url| parse(resp, url)['removed'] || [] }
        @gates = @gates.select { |g| keep.include?(g['name']) } if @gates
        removed
      end

      # Asks GET /v1/gates again next time.
      def forget_gates
        @gates = nil
      end

      private

      def requirements(list)
        list.map { |category, name, min| { 'category' => category, 'name' => name, 'min' => min } }
      end
    end
  end
end
