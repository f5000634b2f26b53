# frozen_string_literal: true

require_relative '../error'
require_relative 'readiness'
require_relative 'runner'

module PuppetX
  module Exportfact
    module Trigger
      # Event-driven convergence: holds a watch on the broker (GET /v1/facts?wait=) and, when
      # the node's view now holds everything one of its closed gates misses (GET /v1/gates),
      # starts one run, so the gate opens now instead of at the next interval run.
      #
      # The rules: one run at a time (this loop waits for its command; it starts none while the
      # agent's run lock is held by a live run, nor while `puppet agent --disable` is in force);
      # at most one run per `min_interval` seconds (a run that is due then starts when the
      # interval has passed, it is not dropped); at most one run per view (if the gate is still
      # closed after a run for this view, only a change of the view triggers again, so a gate
      # that a run cannot open never makes the node run in a loop). A broker that cannot be
      # reached is retried after a delay that doubles up to a minute, never in a tight loop.
      class Loop
        # Seconds between two looks while a run is due but may not start, and while a run is in
        # progress (the node's gates change during it: they are read again soon after it ends).
        RETRY = 5
        # The same while the agent is disabled (an admin's pause: it usually lasts longer).
        DISABLED_RETRY = 30
        MAX_BACKOFF = 60

        attr_reader :runs

        # @param settings [Settings] command, min_interval, wait
        # @param client [WatchClient] (#watch, #gates)
        # @param agent [AgentState] (#blocker, #running?)
        # @param runner [#call] runs a command, returns its exit status
        # @param seams [Hash] for tests: log (#call with one line), clock (#call: monotonic
        #   seconds), sleeper (#call with seconds), random (Random)
        def initialize(settings:, client:, agent:, runner: Runner.new, **seams)
          @settings = settings
          @client = client
          @agent = agent
          @runner = runner
          @log = seams.fetch(:log) { ->(line) { warn("exportfact-trigger: #{line}") } }
          @clock = seams.fetch(:clock) { -> { Process.clock_gettime(Process::CLOCK_MONOTONIC) } }
          @sleeper = seams.fetch(:sleeper) { ->(seconds) { sleep(seconds) } }
          @random = seams.fetch(:random) { Random.new }
          @failures = 0
          @runs = 0
        end

        # Watches and triggers; for ever, or for a number of steps (tests).
        def run(steps: nil)
          @log.call("watching #{@settings.wait}s at a time; runs `#{@settings.command}` at most every #{@settings.min_interval}s")
          count = 0
          while steps.nil? || count < steps
            step
            count += 1
          end
        end

        # One look at the broker, and at most one run.
        def step
          answer = @client.watch(etag: @etag, seconds: @hold || @settings.wait)
          if answer[:status] == 200
            @view = answer[:body]
            @etag = answer[:etag]
          end
          @log.call("broker #{answer[:url]} answers again") if @failures.positive?
          @failures = 0
          @hold = consider
          # A view without a tag cannot be watched: the next request would answer at once.
          @sleeper.call(@hold) if @etag.nil?
        rescue Error => e
          @failures += 1
          delay = backoff
          @log.call("#{e.message}; next try in #{delay.round(1)}s")
          @sleeper.call(delay)
        end

        private

        # Decides on the current view; returns how long the next watch may hold.
        def consider
          gates = @client.gates
          openable = Readiness.openable(gates, @view)
          if openable.empty?
            @blocked = nil
            return @agent.running? ? RETRY : @settings.wait
          end
          return @settings.wait if @triggered_for == @etag

          hold = blocked_for(openable)
          return hold if hold

          start(openable)
          @settings.wait
        end

        # Seconds to look again when a due run may not start now (said once per reason), or nil.
        def blocked_for(openable)
          reason = @agent.blocker
          hold = @agent.disabled? ? DISABLED_RETRY : RETRY if reason
          unless reason || @started_at.nil?
            left = @started_at + @settings.min_interval - @clock.call
            if left.positive?
              reason = "the last triggered run started less than #{@settings.min_interval}s ago"
              hold = [left.ceil, 1].max
            end
          end
          @log.call("#{describe(openable)} could open; waiting: #{reason}") if reason && reason != @blocked
          @blocked = reason
          hold
        end

        def start(openable)
          @blocked = nil
          @triggered_for = @etag
          @started_at = @clock.call
          @runs += 1
          @log.call("#{describe(openable)} can open: running `#{@settings.command}`")
          status = @runner.call(@settings.command)
          @log.call("run ended (exit #{status.inspect}) after #{(@clock.call - @started_at).round(1)}s")
        end

        def describe(openable)
          openable.map { |g| "gate #{g[:name]} (#{g[:met].join(', ')} now exported)" }.join(', ')
        end

        # 0.5-1 s, then doubling up to MAX_BACKOFF, at random within each step (a fleet whose
        # broker comes back does not come back in step).
        def backoff
          top = [2**(@failures - 1), MAX_BACKOFF].min.to_f
          top * (0.5 + (@random.rand / 2))
        end
      end
    end
  end
end
