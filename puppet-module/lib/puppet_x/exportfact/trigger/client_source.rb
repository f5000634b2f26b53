# frozen_string_literal: true

require_relative '../config'
require_relative '../unanswered'
require_relative '../watch_client'

module PuppetX
  module Exportfact
    module Trigger
      # The trigger's client (#watch, #gates), made again when `exportfact.yaml` changes: the
      # trigger runs for weeks, and the class exportfact::agent may move the node to other
      # brokers meanwhile. A changed file that cannot be read keeps the client as it was (with
      # one warning): the agent's own run will say what is wrong with it.
      class ClientSource
        # @param path [String] exportfact.yaml
        # @param wait [Numeric] seconds of one watch (WatchClient sizes its read timeout for it)
        # @param log [#call] one line of log
        def initialize(path:, wait:, log:, build: ->(config) { WatchClient.new(config, wait: wait) })
          @path = path
          @log = log
          @build = build
        end

        # The per-run memories of the module's client are for one Puppet run; the trigger lives
        # for weeks and has its own backoff. So each call asks the broker afresh: a broker that
        # did not answer once is asked again (not skipped for Unanswered::RUN_SECONDS), and the
        # gates are read anew (Client keeps GET /v1/gates for the rest of a run).
        def watch(**options)
          Unanswered.reset
          current.watch(**options)
        end

        def gates
          Unanswered.reset
          client = current
          client.forget_gates
          client.gates
        end

        private

        def current
          stamp = File.exist?(@path) ? [File.mtime(@path), File.size(@path)] : nil
          return @client if @client && stamp == @stamp

          replace(stamp)
          @client
        end

        def replace(stamp)
          config = Config.load(@path)
          @client&.close
          @log.call("#{@path} changed: brokers #{config.urls.join(', ')}") if @client
          @client = @build.call(config)
        rescue ArgumentError => e
          raise unless @client

          @log.call("#{e.message}; going on with the brokers read before")
        ensure
          @stamp = stamp
        end
      end
    end
  end
end
