# frozen_string_literal: true

require 'puppet'
require_relative 'client'
require_relative 'config'

module PuppetX
  module Exportfact
    # The client of this run, shared by the providers and the secret functions so that a run
    # talks to the broker over one kept-alive connection. Puppet applies a catalog in one
    # thread; this is not meant for several.
    module RunClient
      # Puppet settings that decide which certificate a client presents and trusts.
      SSL_SETTINGS = [:certname, :hostcert, :hostprivkey, :localcacert, :hostcrl, :certificate_revocation].freeze

      # A new client replaces the current one when exportfact.yaml or the certificate settings
      # change (a run may write exportfact.yaml itself).
      # @return [Client]
      def self.current
        config = Config.load
        identity = [config.connection_settings, SSL_SETTINGS.map { |s| Puppet[s] }]
        unless @current && @current_identity == identity
          @current&.close
          @current = Client.new(config)
          @current_identity = identity
        end
        @current
      end

      # Closes the shared connection at the end of a run (the client reconnects if used again).
      def self.close
        @current&.close
      end

      # Forgets the shared client and the brokers that did not answer (tests start each
      # example with their own broker).
      def self.reset
        @current = nil
        @current_identity = nil
        Unanswered.reset
      end
    end
  end
end
