# frozen_string_literal: true

require_relative '../names'

module PuppetX
  module Exportfact
    # What may be asked of the broker for a secret (see secrets.rb).
    module Secrets
      MIN_LENGTH = 8
      MAX_LENGTH = 1024
      # Named alphabets of the broker; anything else is taken as the literal characters.
      ALPHABETS = ['alnum', 'hex', 'base64url', 'printable'].freeze

      # One secret request, checked: category, name, pinned version, generate options.
      class Request
        OPTIONS = ['version', 'generate'].freeze

        attr_reader :category, :name, :version, :generate

        # @param options [Hash] 'version' => Integer, 'generate' => {'length', 'alphabet'}
        def initialize(category, name, options = {})
          @category = Names.check_name!('category', category.to_s)
          @name = Names.check_name!('name', name.to_s)
          options = (options || {}).transform_keys(&:to_s)
          Secrets.check_keys('', options, OPTIONS, 'option')
          @version = options['version']
          raise ArgumentError, "version must be a positive integer, got #{@version.inspect}" unless @version.nil? || positive?(@version)

          @generate = Secrets.check_generate(options['generate'])
          raise ArgumentError, 'version and generate cannot be combined (generate hands out the current version)' if @version && @generate
        end

        def self.from_key(key, options = {})
          new(*Names.split_key('secret', key), options)
        end

        def key
          "#{category}.#{name}"
        end

        def cache_key
          [category, name, version, generate&.values_at('length', 'alphabet')]
        end

        private

        def positive?(value)
          value.is_a?(Integer) && value.positive?
        end
      end

      # nil, or the generate options as {'length' => Integer|nil, 'alphabet' => String|nil}.
      def self.check_generate(spec)
        return nil if spec.nil? || spec == false || spec == :undef

        spec = {} if spec == true
        unless spec.is_a?(Hash)
          raise ArgumentError, "generate must be a hash such as {length => 32, alphabet => 'alnum'}, got #{spec.class}"
        end

        spec = spec.transform_keys(&:to_s)
        check_keys('generate: ', spec, ['length', 'alphabet'], 'key')
        { 'length' => check_length(spec['length']), 'alphabet' => check_alphabet(spec['alphabet']) }
      end

      def self.check_keys(prefix, hash, known, what)
        unknown = hash.keys - known
        raise ArgumentError, "#{prefix}unknown #{what}(s) #{unknown.join(', ')} (known: #{known.join(', ')})" unless unknown.empty?
      end

      def self.check_length(length)
        return length if length.nil? || (length.is_a?(Integer) && length.between?(MIN_LENGTH, MAX_LENGTH))

        raise ArgumentError, "generate: length must be an integer from #{MIN_LENGTH} to #{MAX_LENGTH}, got #{length.inspect}"
      end

      def self.check_alphabet(alphabet)
        return alphabet if alphabet.nil? || ALPHABETS.include?(alphabet)

        unless alphabet.is_a?(String) && alphabet.length.between?(1, 256)
          raise ArgumentError, "generate: alphabet must be #{ALPHABETS.join(', ')} or the characters to use (1-256), " \
                               "got #{alphabet.inspect}"
        end
        raise ArgumentError, 'generate: alphabet needs at least 2 distinct characters' if alphabet.chars.uniq.length < 2

        alphabet
      end
    end
  end
end
