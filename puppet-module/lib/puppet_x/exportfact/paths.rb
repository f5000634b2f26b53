# frozen_string_literal: true

require 'uri'

module PuppetX
  module Exportfact
    # The broker's paths (docs/api.md) for names the module sends in them.
    module Paths
      # /v1/{facts|secrets}/{category}/{name}
      def self.fact(kind, category, name)
        "/v1/#{kind}/#{URI.encode_www_form_component(category)}/#{URI.encode_www_form_component(name)}"
      end

      # /v1/gates/{name}: a gate's name may hold spaces, `/`, `%`, `+`, `?`.
      def self.gate(name)
        "/v1/gates/#{segment(name)}"
      end

      # One path segment, percent-encoded: everything but RFC 3986's unreserved characters,
      # and a name of dots alone in full, so that no `.` or `..` segment reaches the broker
      # (a client or proxy on the way could resolve it).
      def self.segment(text)
        keep = text.match?(%r{\A\.+\z}) ? %r{[A-Za-z0-9_~-]} : %r{[A-Za-z0-9_.~-]}
        text.b.chars.map { |c| keep.match?(c) ? c : format('%%%02X', c.ord) }.join
      end
    end
  end
end
