# frozen_string_literal: true

require 'puppet'
require 'puppet/util/pidlock'

module PuppetX
  module Exportfact
    module Trigger
      # What the node's Puppet agent is doing, from the files Puppet itself keeps: a run in
      # progress (`agent_catalog_run_lockfile`, `$vardir/state/agent_catalog_run.lock`, the pid of
      # the running agent) and `puppet agent --disable` (`agent_disabled_lockfile`,
      # `$vardir/state/agent_disabled.lock`).
      class AgentState
        # @param run_lock [String] default: Puppet's agent_catalog_run_lockfile
        # @param disabled_lock [String] default: Puppet's agent_disabled_lockfile
        def initialize(run_lock: Puppet[:agent_catalog_run_lockfile], disabled_lock: Puppet[:agent_disabled_lockfile])
          @run_lock = run_lock
          @disabled_lock = disabled_lock
        end

        # A run holds the lock. Judged as the agent judges it (Puppet::Util::Pidlock): a lock
        # whose process is gone, or is not Puppet, is stale (and removed, as the agent would).
        def running?
          Puppet::Util::Pidlock.new(@run_lock).locked?
        rescue Puppet::ExecutionFailure
          # Pidlock asks `ps` what the process is; without it (a minimal container), a live
          # process holding the lock is taken as a run: better a run late than two at once.
          alive?(Puppet::Util::Pidlock.new(@run_lock).lock_pid)
        end

        # `puppet agent --disable` is in force: the file exists (its content is the reason).
        def disabled?
          File.exist?(@disabled_lock)
        end

        def alive?(pid)
          return false unless pid

          Process.kill(0, pid)
          true
        rescue Errno::ESRCH
          false
        rescue Errno::EPERM
          true
        end
        private :alive?

        # Why no run may start now, or nil.
        def blocker
          if disabled?
            "the agent is disabled (#{@disabled_lock})"
          elsif running?
            "a Puppet run is in progress (#{@run_lock})"
          end
        end
      end
    end
  end
end
