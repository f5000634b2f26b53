# frozen_string_literal: true

require 'optparse'
require 'puppet'
require_relative '../config'
require_relative '../error'
require_relative 'agent_state'
require_relative 'client_source'
require_relative 'loop'
require_relative 'settings'

module PuppetX
  module Exportfact
    module Trigger
      # `exportfact-trigger` (files/exportfact-trigger): options, Puppet's settings of this node
      # (confdir, vardir, ssldir, certname as the agent has them), then the loop.
      module Cli
        USAGE = 'exportfact-trigger [--confdir DIR] [--config FILE] [--command CMD] [--min-interval S] [--wait S]'

        # @return [Integer] exit status: 0 when stopped, 2 for a mistake in the options or settings
        def self.main(argv)
          options = parse(argv)
          initialize_puppet(options[:confdir])
          settings = Settings.load(options[:config] || File.join(Puppet[:confdir], Settings::FILE_NAME), options[:overrides])
          log = ->(line) { warn("exportfact-trigger: #{line}") }
          # exportfact.yaml as the agent reads it; a mistake in it ends here (exit code 2).
          Config.load.warnings.each { |w| log.call(w) }
          client = ClientSource.new(path: Config.default_path, wait: settings.wait, log: log)
          stop_on_signals
          Loop.new(settings: settings, client: client, agent: AgentState.new, log: log).run
          0
        rescue OptionParser::ParseError, ArgumentError => e
          warn("exportfact-trigger: #{e.message}\nusage: #{USAGE}")
          2
        rescue Interrupt
          0
        end

        def self.parse(argv)
          options = { overrides: {} }
          parser = OptionParser.new do |o|
            o.banner = "usage: #{USAGE}"
            o.on('--confdir DIR', "Puppet's confdir (puppet.conf, exportfact.yaml)") { |v| options[:confdir] = v }
            o.on('--config FILE', 'settings file (default: <confdir>/exportfact_trigger.yaml)') { |v| options[:config] = v }
            o.on('--command CMD', 'what one run is, by /bin/sh') { |v| options[:overrides]['command'] = v }
            o.on('--min-interval S', 'seconds between two triggered runs') { |v| options[:overrides]['min_interval'] = v }
            o.on('--wait S', 'seconds the broker holds one watch request') { |v| options[:overrides]['wait'] = v }
          end
          rest = parser.parse(argv)
          raise OptionParser::ParseError, "unexpected argument #{rest.first}" unless rest.empty?

          options
        end

        # Puppet's settings as the agent of this node has them (run mode agent: puppet.conf's
        # [agent] section counts), unless the launcher did it already.
        def self.initialize_puppet(confdir)
          return if Puppet.settings.global_defaults_initialized?

          Puppet.settings.preferred_run_mode = :agent
          Puppet.initialize_settings(confdir ? ['--confdir', confdir] : [])
        end

        # SIGTERM (systemctl stop) ends the loop at once, as Ctrl-C does.
        def self.stop_on_signals
          Signal.trap('TERM') { raise Interrupt }
        end
        private_class_method :stop_on_signals
      end
    end
  end
end
