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
      # A gate's requirement as gates report it: `category.name` or `category.name>=k`
      # (`Exportfact::Requirement`'s string form; the Hash form is written as this one).
      REQUIREMENT = %r{\A(#{PART})\.(#{PART})(?:\s*>=\s*([1-9][0-9]*))?\z}.freeze
      # A gate's name as the broker takes it: 1 to 128 printable ASCII characters
      # (`Exportfact::GateName`; `exportfact::gate_name` makes one of any text).
      GATE_NAME = %r{\A[ -~]{1,128}\z}.freeze

      def self.name?(value)
        value.is_a?(String) && NAME.match?(value)
      end

      # Raises ArgumentError naming what is wrong, e.g. `category "Db" must match ...`.
      # @param what [String] what the value is (`category`, `fact name`, ...)
      def self.check_name!(what, value)
        raise ArgumentError, "#{what} #{value.inspect} must match #{SHAPE} and be at most #{MAX_LENGTH} characters" unless name?(value)

        value
      end

      # A requirement in one shape: `category.name`, or `category.name>=k` when k > 1.
      # @return [Array(String, String, Integer)] category, name and how many nodes must export it
      def self.requirement(text)
        m = REQUIREMENT.match(text.to_s)
        unless m
          raise ArgumentError, "requirement #{text.inspect} must be 'category.name' or 'category.name>=k' " \
                               "(each name #{SHAPE}, at most #{MAX_LENGTH} characters; k at least 1)"
        end

        [m[1], m[2], m[3] ? Integer(m[3], 10) : 1]
      end

      # `category.name`, or `category.name>=k` when k > 1: how gates write a requirement.
      def self.requirement_text(category, name, min)
        min.to_i > 1 ? "#{category}.#{name}>=#{min}" : "#{category}.#{name}"
      end

      def self.gate_name?(value)
        value.is_a?(String) && GATE_NAME.match?(value)
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
