# frozen_string_literal: true

require 'uri'

class MemoryBroker
  # The gates CERTNAME reported (docs/api.md, Gates): GET /v1/gates, PUT /v1/gates/{name},
  # POST /v1/gates/prune.
  #   gates: {name => {'open' => bool, 'requires' => [{category, name, min}], 'missing' => [...]}}
  # `gates_supported = false` answers as a broker older than gate reports (404 route_not_found).
  module GateTable
    attr_accessor :gates_supported

    private

    # The gate routes, by the raw path (WEBrick's `path` is decoded and normalised, and a
    # gate's name may hold `/` or `..`); false when the path is not one of them.
    def handle_gates(req, res)
      raw = req.request_uri.path
      return false unless raw == '/v1/gates' || raw.start_with?('/v1/gates/')

      if gates_supported == false
        MemoryBroker.error(res, 404, 'route_not_found', "no route #{raw}")
      elsif raw == '/v1/gates'
        FakeBroker.json(res, 200, 'gates' => @gates.map { |name, g| g.merge('name' => name) })
      elsif raw == '/v1/gates/prune'
        keep = JSON.parse(req.body)['keep']
        removed = @gates.keys - keep
        removed.each { |name| @gates.delete(name) }
        FakeBroker.json(res, 200, 'removed' => removed.sort)
      else
        report_gate(URI.decode_www_form_component(raw.delete_prefix('/v1/gates/').gsub('+', '%2B')), JSON.parse(req.body), res)
      end
      true
    end

    def report_gate(name, body, res)
      changed = @gates.dig(name, 'open') != body['open']
      @gates[name] = { 'open' => body['open'], 'requires' => body['requires'], 'missing' => body['missing'] }
      FakeBroker.json(res, 200, 'name' => name, 'open' => body['open'], 'changed' => changed)
    end
  end
end
