# frozen_string_literal: true

require 'json'
require_relative 'error'

module PuppetX
  module Exportfact
    # The JSON bodies of the broker's answers, included in Client.
    module Bodies
      private

      def parse(resp, url)
        JSON.parse(resp.body.to_s)
      rescue JSON::ParserError => e
        raise Error.new("#{url} answered #{resp.code} with a body that is not JSON: #{e.message}", status: resp.code.to_i)
      end

      # Like #parse, but a body that is not JSON is reported without quoting it (JSON's own
      # message would quote the start of the body: possibly a secret).
      def parse_secret(resp, url)
        JSON.parse(resp.body.to_s)
      rescue JSON::ParserError
        raise Error.new("#{url} answered #{resp.code} with a body that is not JSON (#{resp.body.to_s.bytesize} bytes, not shown)",
                        status: resp.code.to_i)
      end
    end
  end
end
