# frozen_string_literal: true

module PuppetX
  module Exportfact
    # Names a top-level exportfact fact must not take: Facter's core and legacy facts,
    # custom facts already defined, the module's own facts, and variables Puppet sets.
    module FactNames
      RESERVED = %w[
        exportfact exportfact_secrets exportfact_status
        facts trusted server_facts settings environment clientcert clientversion clientnoop
        agent_specified_environment puppetversion implementation servername serverip serverversion
        title name module_name caller_module_name
      ].freeze

      # @return [Array<String, Regexp>]
      def self.taken
        names = RESERVED.dup
        names.concat(core_facts)
        names.concat(custom_facts)
        names
      end

      def self.match?(taken, name)
        taken.any? { |t| t.is_a?(Regexp) ? t.match?(name) : t == name }
      end

      # Core facts, root names (`os` for `os.family`); legacy facts with a pattern
      # (`ipaddress_.*`) as Regexps.
      def self.core_facts
        return [] unless defined?(Facter::InternalFactLoader)
        Facter::InternalFactLoader.new.facts.map do |f|
          root = f.name.to_s.split('.').first
          root.include?('*') ? Regexp.new("\\A#{root}\\z") : root
        end.uniq
      rescue StandardError
        []
      end

      # Old-module files (<external dir>/<category>.txt) for these categories.
      # @return [Hash{String => String}] category => path
      def self.old_module_files(categories)
        dirs = external_dirs
        categories.each_with_object({}) do |cat, found|
          dirs.each do |dir|
            path = File.join(dir, "#{cat}.txt")
            if File.file?(path)
              found[cat] = path
              break
            end
          end
        end
      end

      def self.external_dirs
        dirs = defined?(Facter::Options) ? Array(Facter::Options.external_dir) : []
        dirs += ['/etc/facter/facts.d', '/etc/puppetlabs/facter/facts.d']
        dirs.compact.uniq
      rescue StandardError
        []
      end

      def self.custom_facts
        collection = Facter.respond_to?(:collection) ? Facter.collection : nil
        collection ||= LegacyFacter.collection if defined?(LegacyFacter)
        return [] unless collection
        facts = collection.instance_variable_get(:@facts)
        facts.is_a?(Hash) ? facts.keys.map(&:to_s) : []
      rescue StandardError
        []
      end
    end
  end
end
