# frozen_string_literal: true

require 'yaml'

module PuppetX
  module Exportfact
    module Trigger
      # The trigger's settings: `exportfact_trigger.yaml` in Puppet's confdir (written by the
      # class exportfact::trigger), then the command line's options over it.
      #
      # Keys (all optional):
      #   command:       what one run is, run by /bin/sh (default: puppet agent --onetime --no-daemonize)
      #   min_interval:  seconds between the starts of two triggered runs (default 60)
      #   wait:          seconds the broker holds one watch request (default 60, at most 300)
      class Settings
        FILE_NAME = 'exportfact_trigger.yaml'
        DEFAULTS = {
          'command' => 'puppet agent --onetime --no-daemonize',
          'min_interval' => 60,
          'wait' => 60,
        }.freeze
        MAX_WAIT = 300

        attr_reader :command, :min_interval, :wait, :path

        # @param path [String] the settings file (absent: the defaults)
        # @param overrides [Hash] from the command line, over the file
        def self.load(path, overrides = {})
          data = File.exist?(path) ? YAML.safe_load(File.read(path)) : {}
          data ||= {}
          raise ArgumentError, "#{path}: expected a mapping of settings, got #{data.class}" unless data.is_a?(Hash)

          new(data.merge(overrides.compact), path)
        end

        def initialize(data, path = nil)
          @path = path
          data = data.transform_keys(&:to_s)
          unknown = data.keys - DEFAULTS.keys
          raise ArgumentError, "#{where}unknown setting(s) #{unknown.join(', ')}" unless unknown.empty?

          merged = DEFAULTS.merge(data)
          @command = command_of(merged['command'])
          @min_interval = number(merged, 'min_interval', minimum: 0)
          @wait = number(merged, 'wait', minimum: 1)
          raise ArgumentError, "#{where}wait must be at most #{MAX_WAIT} seconds (the broker's cap), got #{@wait}" if @wait > MAX_WAIT
        end

        private

        def where
          @path ? "#{@path}: " : ''
        end

        def command_of(value)
          return value if value.is_a?(String) && !value.strip.empty?

          raise ArgumentError, "#{where}command must be a non-empty string, got #{value.inspect}"
        end

        def number(data, key, minimum:)
          value = data[key]
          # From the command line: "5" is 5, "2.5" is 2.5.
          value = value.include?('.') ? Float(value) : Integer(value, 10) if value.is_a?(String) && value.match?(%r{\A[0-9]+(\.[0-9]+)?\z})
          return value if value.is_a?(Numeric) && value >= minimum

          raise ArgumentError, "#{where}#{key} must be a number of seconds, at least #{minimum}, got #{value.inspect}"
        end
      end
    end
  end
end
