# frozen_string_literal: true

module PuppetX
  module Exportfact
    # The name rules of the broker, on the Ruby side: a category or a fact name is
    # Facter-style (`^[a-z][a-z0-9_]*$`) and at most 64 characters; a fact is addressed as
    # `category.name`. Types, providers, functions and the fact use these and nothing else.
    # (The Puppet side has the same rule in `types/name.pp`, `types/key.pp` and
    # `types/requirement.pp`; spec/type_aliases checks that both sides agree.)
    module Names
      MAX_LENGTH = 64
      # One name, as a regexp source without anchors.
      PART = "[a-z][a-z0-9_]{0,#{MAX_LENGTH - 1}}"
      # A whole category or fact name.
      NAME = %r{\A#{PART}\z}.freeze
      # `category.name`, with the two names captured.
      KEY = %r{\A(#{PART})\.(#{PART})\z}.freeze
      # A resource title `category.name` or `category/name`.
      TITLE = %r{\A(#{PART})[./](#{PART})\z}.freeze
      # Local type aliases `Name` and `Key` for Ruby functions that run as Deferred values on
      # agents: those get lib/ by pluginsync, but not the module's types/ (Exportfact::Key).
      PUPPET_TYPES = ["Name = Pattern[/#{NAME.source}/]", "Key = Pattern[/#{KEY.source}/]"].freeze
      # What messages say a name must be.
      SHAPE = '^[a-z][a-z0-9_]*$'

      def self.name?(value)
        value.is_a?(String) && NAME.match?(value)
      end

      # Raises ArgumentError naming what is wrong, e.g. `category "Db" must match ...`.
      # @param what [String] what the value is (`category`, `fact name`, ...)
      def self.check_name!(what, value)
        raise ArgumentError, "#{what} #{value.inspect} must match #{SHAPE} and be at most #{MAX_LENGTH} characters" unless name?(value)

        value
      end

      # @param what [String] what the key is (`secret`, ...)
      # @return [Array(String, String)] category and name of `category.name`
      def self.split_key(what, key)
        m = KEY.match(key.to_s)
        raise ArgumentError, "#{what} #{key.inspect} must be 'category.name' (each #{SHAPE}, at most #{MAX_LENGTH} characters)" unless m

        [m[1], m[2]]
      end
    end
  end
end
