# frozen_string_literal: true

require 'json'
require 'digest'
require 'openssl'

module PuppetX
  module Exportfact
    # Secrets as text: what a file holds, a string built around them, a comparison that
    # shows nothing.
    module Secrets
      # Characters left as they are by the `%u` placeholder (RFC 3986 unreserved).
      UNRESERVED = %r{[^A-Za-z0-9\-._~]}.freeze
      PLACEHOLDER = %r{%[su%]}.freeze

      # Text to write or format: strings as they are, numbers and booleans as text, other
      # JSON values (per-node hashes, arrays) as JSON.
      def self.text(value)
        case value
        when String then value
        when Integer, Float, true, false then value.to_s
        else JSON.generate(value)
        end
      end

      # Builds a string around secrets. `%s` takes the next value as it is, `%u` percent-encodes
      # it (for the user or password part of a URL), `%%` is a literal `%`. The number of
      # placeholders must equal the number of values.
      def self.format(template, values)
        check_placeholders(template, values.length)
        queue = values.dup
        template.gsub(PLACEHOLDER) do |placeholder|
          case placeholder
          when '%%' then '%'
          when '%s' then scalar(queue.shift)
          else percent_encode(scalar(queue.shift))
          end
        end
      end

      def self.check_placeholders(template, count)
        stray = template.gsub(PLACEHOLDER, '').include?('%')
        raise ArgumentError, "format #{template.inspect}: only %s, %u and %% are placeholders" if stray

        found = template.scan(PLACEHOLDER).count { |p| p != '%%' }
        raise ArgumentError, "format #{template.inspect} has #{found} placeholder(s) for #{count} secret(s)" unless found == count
      end

      def self.percent_encode(text)
        text.gsub(UNRESERVED) { |char| char.bytes.map { |byte| Kernel.format('%%%02X', byte) }.join }
      end

      def self.scalar(value)
        unless value.is_a?(String) || value.is_a?(Numeric)
          raise ArgumentError, "a #{value.class} secret (per-node or structured) cannot be put into a string; use exportfact::secret"
        end

        value.to_s
      end

      # Raises ArgumentError unless the template's placeholders make sense for count values.
      def self.check_format(template, count)
        check_placeholders(template, count)
        nil
      end

      # Equal texts, compared by SHA-256 digests in constant time (where the openssl gem
      # has it: not the one of Ruby 2.7): neither text nor digest leaves this method.
      def self.same?(one, other)
        digests = [one, other].map { |text| Digest::SHA256.digest(text.to_s.b) }
        return digests.first == digests.last unless OpenSSL.respond_to?(:fixed_length_secure_compare)

        OpenSSL.fixed_length_secure_compare(*digests)
      end
    end
  end
end
