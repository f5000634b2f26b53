# frozen_string_literal: true

module PuppetX
  module Exportfact
    # Warnings of the agent side: into Puppet's log (the run's output and report) under
    # Puppet, Facter's otherwise (`facter -p`).
    module Log
      def self.warning(message)
        if defined?(Puppet) && Puppet.respond_to?(:warning)
          Puppet.warning(message)
        else
          Facter.warn(message)
        end
      end
    end
  end
end
