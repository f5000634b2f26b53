# frozen_string_literal: true

module PuppetX
  module Exportfact
    # The broker URLs that did not answer in this run (connection refused, no connection or no
    # answer within connect_timeout/read_timeout, TLS failure): later requests of the run skip
    # them at once and fail over to the next URL, or fail as unreachable (the fact then uses
    # the cached view). Without it, a run against a broker that accepts connections and never
    # answers would wait a timeout per fact lookup, resource and secret.
    #
    # Shared by every Client of the process: the fact's own client and the providers' and
    # functions' RunClient. A run is a process on POSIX (`puppet apply`, `puppet agent -t`, and
    # the daemon forks one per run); a daemon that does not fork (Windows) keeps the process,
    # so an entry is forgotten after RUN_SECONDS: the next run asks the broker again.
    module Unanswered
      # Longer than the broker work of a normal run; shorter than any sensible runinterval.
      RUN_SECONDS = 300

      @failed = {}
      @lock = Mutex.new

      # Why base did not answer earlier in this run, or nil when it may be asked.
      # @param base [String] https://host:port, as in exportfact.yaml
      # @return [String, nil]
      def self.reason(base, now: monotonic)
        @lock.synchronize do
          entry = @failed[base]
          return nil unless entry
          return entry[:reason] if now - entry[:at] < RUN_SECONDS

          @failed.delete(base)
          nil
        end
      end

      # Notes that base did not answer; reason says how (e.g. "no answer within 5s").
      def self.record(base, reason, now: monotonic)
        @lock.synchronize { @failed[base] = { reason: reason, at: now } }
      end

      # Forgets every failure (tests; a run that must ask again).
      def self.reset
        @lock.synchronize { @failed.clear }
      end

      def self.monotonic
        Process.clock_gettime(Process::CLOCK_MONOTONIC)
      end
    end
  end
end
