# frozen_string_literal: true

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
    end
  end
end
