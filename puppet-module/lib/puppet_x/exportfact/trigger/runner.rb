# frozen_string_literal: true

module PuppetX
  module Exportfact
    module Trigger
      # Runs one command by /bin/sh and waits for it: the trigger never starts a second run
      # before the first one ended. Its output goes where the trigger's goes (the journal).
      class Runner
        # @return [Integer, nil] the exit status (nil when killed by a signal)
        def call(command)
          pid = Process.spawn('/bin/sh', '-c', command, in: File::NULL)
          Process.wait2(pid).last.exitstatus
        end
      end
    end
  end
end
