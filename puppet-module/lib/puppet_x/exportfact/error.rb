# frozen_string_literal: true

require 'json'

module PuppetX
  module Exportfact
    # Raised for anything that stops a request from getting an answer we can use.
    class Error < StandardError
      attr_reader :status, :code

      def initialize(message, status: nil, code: nil)
        super(message)
        @status = status
        @code = code
      end

      # The broker could not be reached at all (as opposed to: it answered with an error).
      def unreachable?
        status.nil? || status >= 500
      end

      # The broker's answer to a request that failed: status, API code and message
      # (docs/api.md: {"error": {"code", "message"}}), never a value.
      # @param resp [Net::HTTPResponse]
      def self.from_response(resp, method, url)
        detail = begin
          JSON.parse(resp.body.to_s)['error'] || {}
        rescue JSON::ParserError
          {}
        end
        code = detail['code']
        message = detail['message'] || resp.body.to_s[0, 200]
        new("#{method.to_s.upcase} #{url} answered #{resp.code}#{code ? " #{code}" : ''}: #{message}", status: resp.code.to_i, code: code)
      end
    end
  end
end
