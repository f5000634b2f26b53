# frozen_string_literal: true

require 'json'

module PuppetX
  module Exportfact
    # Comparing and checking fact values.
    module Values
      # A canonical JSON text: hashes with sorted keys, so {a,b} equals {b,a}.
      def self.canonical(value)
        JSON.generate(sort(value))
      end

      def self.sort(value)
        case value
        when Hash then value.keys.map(&:to_s).sort.each_with_object({}) { |k, h| h[k] = sort(value[k] || value[k.to_sym]) }
        when Array then value.map { |v| sort(v) }
        when Symbol then value.to_s
        else value
        end
      end

      # Why this value cannot be published, or nil.
      def self.invalid(value, path = 'value')
        case value
        when nil, :undef then path == 'value' ? "#{path} must not be undef" : nil
        when String, Integer, true, false then nil
        when Float then value.finite? ? nil : "#{path} must be a finite number"
        when Array then value.each_with_index.lazy.map { |item, i| invalid(item, "#{path}[#{i}]") }.find(&:itself)
        when Hash then invalid_hash(value, path)
        else "#{path} is a #{value.class}, not a JSON value"
        end
      end

      def self.invalid_hash(hash, path)
        hash.each do |key, item|
          return "#{path} has a key that is not a string: #{key.inspect}" unless key.is_a?(String)

          bad = invalid(item, "#{path}[#{key.inspect}]")
          return bad if bad
        end
        nil
      end
    end
  end
end
