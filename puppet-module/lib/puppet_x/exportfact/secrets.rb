# frozen_string_literal: true

require 'json'
require 'uri'
require 'digest'
require 'openssl'
require 'puppet'
require_relative 'client'
require_relative 'names'

module PuppetX
  module Exportfact
    # Secrets on the agent side: fetched from the broker at apply time (by a provider or a
    # Deferred function), never put in facts, the catalog, a report or a cache on disk.
    #
    # Everything here keeps the value out of messages: errors name the secret, the URL, the
    # HTTP status and the broker's error code, never the value.
    module Secrets
      MIN_LENGTH = 8
      MAX_LENGTH = 1024
      # Named alphabets of the broker; anything else is taken as the literal characters.
      ALPHABETS = ['alnum', 'hex', 'base64url', 'printable'].freeze
      # A node-held secret file larger than this is refused (a wrong `source`, not a password).
      MAX_SOURCE_BYTES = 65_536
      # Characters left as they are by the `%u` placeholder (RFC 3986 unreserved).
      UNRESERVED = %r{[^A-Za-z0-9\-._~]}.freeze

      # One secret request, checked: category, name, pinned version, generate options.
      class Request
        attr_reader :category, :name, :version, :generate

        # @param options [Hash] 'version' => Integer, 'generate' => {'length', 'alphabet'}
        def initialize(category, name, options = {})
          @category = Names.check_name!('category', category.to_s)
          @name = Names.check_name!('name', name.to_s)
          options = (options || {}).transform_keys(&:to_s)
          unknown = options.keys - ['version', 'generate']
          raise ArgumentError, "unknown option(s) #{unknown.join(', ')} (known: version, generate)" unless unknown.empty?
          @version = options['version']
          unless @version.nil? || (@version.is_a?(Integer) && @version.positive?)
            raise ArgumentError, "version must be a positive integer, got #{@version.inspect}"
          end
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
          [category, name, version, generate && generate.values_at('length', 'alphabet')]
        end
      end

      # nil, or the generate options as {'length' => Integer|nil, 'alphabet' => String|nil}.
      def self.check_generate(spec)
        return nil if spec.nil? || spec == false || spec == :undef
        spec = {} if spec == true
        raise ArgumentError, "generate must be a hash such as {length => 32, alphabet => 'alnum'}, got #{spec.class}" unless spec.is_a?(Hash)
        spec = spec.transform_keys(&:to_s)
        unknown = spec.keys - ['length', 'alphabet']
        raise ArgumentError, "generate: unknown key(s) #{unknown.join(', ')} (known: length, alphabet)" unless unknown.empty?
        length = spec['length']
        unless length.nil? || (length.is_a?(Integer) && length.between?(MIN_LENGTH, MAX_LENGTH))
          raise ArgumentError, "generate: length must be an integer from #{MIN_LENGTH} to #{MAX_LENGTH}, got #{length.inspect}"
        end
        alphabet = spec['alphabet']
        unless alphabet.nil? || (alphabet.is_a?(String) && !alphabet.empty? && alphabet.length <= 256)
          raise ArgumentError, "generate: alphabet must be #{ALPHABETS.join(', ')} or the characters to use (1-256), got #{alphabet.inspect}"
        end
        if alphabet && !ALPHABETS.include?(alphabet) && alphabet.chars.uniq.length < 2
          raise ArgumentError, 'generate: alphabet needs at least 2 distinct characters'
        end
        { 'length' => length, 'alphabet' => alphabet }
      end

      # Secrets fetched in this run, per owner (a catalog, or the compiler resolving Deferred
      # values): in memory only, gone with the run.
      @caches = ObjectSpace::WeakMap.new
      @caches_lock = Mutex.new

      def self.cache_for(owner)
        return {} if owner.nil?
        @caches_lock.synchronize { @caches[owner] ||= {} }
      end

      # The value of a secret: a single secret's value, or {certname => value} for a per-node
      # one. Raises PuppetX::Exportfact::Error (status and code from the broker).
      # @param cache [Hash, nil] answers already fetched in this run
      # @return [Hash] {'value' => value, 'version' => Integer, 'created' => Boolean|nil}
      def self.fetch(req, client: Client.current, cache: nil)
        return cache[req.cache_key] if cache&.key?(req.cache_key)

        body = if req.generate
                 client.generate(req.category, req.name, length: req.generate['length'], alphabet: req.generate['alphabet'])
               else
                 client.secret(req.category, req.name, version: req.version)
               end
        result = { 'value' => body.key?('values') ? body['values'] : body['value'], 'version' => body['version'], 'created' => body['created'] }
        raise Error, "the broker's answer for #{req.key} holds no value" if result['value'].nil?
        cache[req.cache_key] = result if cache
        result
      end

      # The logic of the functions exportfact::secret and exportfact::secret_format.
      module Functions
        SENSITIVE = Puppet::Pops::Types::PSensitiveType::Sensitive

        # Secrets may be fetched only while Deferred values are resolved on the agent, never
        # while a catalog is compiled: a value fetched there would be fetched with the
        # compiling host's certificate and land in the catalog. While compiling, the function's
        # scope belongs to a catalog compiler; during Deferred resolution it is not (Puppet
        # resolves with a ScriptCompiler and no global scope).
        def self.check_deferred!(scope, fname)
          compiler = scope.respond_to?(:compiler) ? scope.compiler : nil
          return if compiler.nil? || compiler.is_a?(Puppet::Parser::ScriptCompiler)
          raise Puppet::ParseError, "#{fname}: call it through Deferred('#{fname}', [...]) so that it runs on the agent at apply time; " \
                                    'called while compiling, the secret would land in the catalog'
        end

        # @param cache [Hash] this run's answers (the function instance lives for one resolution)
        # @return [Sensitive] the secret (its value; {certname => value} when per-node)
        def self.secret(scope, req, cache:, fname: 'exportfact::secret')
          check_deferred!(scope, fname)
          SENSITIVE.new(fetch_value(cache, req, fname))
        end

        # @return [Sensitive] the template with the secret in it
        def self.secret_format(scope, template, req, cache:, fname: 'exportfact::secret_format')
          check_deferred!(scope, fname)
          check_template(template, 1, fname)
          value = fetch_value(cache, req, fname)
          SENSITIVE.new(Secrets.format(template, [value]))
        rescue ArgumentError => e
          raise Puppet::ParseError, "#{fname}(#{req.key}): #{e.message}"
        end

        # Formats given Sensitive values (e.g. nested Deferred('exportfact::secret', ...)).
        def self.format_values(template, values, fname: 'exportfact::secret_format')
          check_template(template, values.length, fname)
          plain = values.map { |v| v.is_a?(SENSITIVE) ? v.unwrap : v }
          SENSITIVE.new(Secrets.format(template, plain))
        rescue ArgumentError => e
          raise Puppet::ParseError, "#{fname}: #{e.message}"
        end

        def self.check_template(template, n, fname)
          Secrets.check_format(template, n)
        rescue ArgumentError => e
          raise Puppet::ParseError, "#{fname}: #{e.message}"
        end

        def self.fetch_value(cache, req, fname)
          Secrets.fetch(req, cache: cache)['value']
        rescue PuppetX::Exportfact::Error => e
          raise Puppet::Error, "#{fname}: #{Secrets.describe_error(req, e)}"
        end

        # A Request from the function's arguments, with argument errors as ParseErrors.
        def self.request(fname, *args)
          options = args.last.is_a?(Hash) ? args.pop : {}
          args.length == 1 ? Request.from_key(args[0], options) : Request.new(args[0], args[1], options)
        rescue ArgumentError => e
          raise Puppet::ParseError, "#{fname}: #{e.message}"
        end
      end

      # A message for a failed fetch: what was asked, and why (status and API code), no value.
      def self.describe_error(req, err, what: 'secret')
        base = "exportfact: cannot fetch #{what} #{req.key}"
        base += " version #{req.version}" if req.version
        code = err.respond_to?(:code) ? err.code : nil
        hint = if code == 'secret_not_found' && !req.generate
                 ' (not published yet, or not readable by this node; generate => {...} asks the broker to make it)'
               elsif code == 'secret_not_generated'
                 ' (a node publishes it: read it without generate)'
               elsif err.respond_to?(:status) && err.status == 403
                 ' (the broker\'s policy does not let this node have it)'
               else
                 ''
               end
        "#{base}: #{err.message}#{hint}"
      end

      # Text to write or format: strings as they are, numbers and booleans as text, other
      # JSON values (per-node hashes, arrays) as JSON.
      def self.text(value)
        case value
        when String then value
        when Integer, Float, true, false then value.to_s
        else JSON.generate(value)
        end
      end

      # Builds a string around secrets. `%s` takes the next value as it is, `%u` percent-encodes
      # it (for the user or password part of a URL), `%%` is a literal `%`. The number of
      # placeholders must equal the number of values.
      def self.format(template, values)
        count = template.scan(%r{%[su%]}).count { |p| p != '%%' }
        bad = template.gsub(%r{%[su%]}, '').include?('%')
        raise ArgumentError, "format #{template.inspect}: only %s, %u and %% are placeholders" if bad
        raise ArgumentError, "format #{template.inspect} has #{count} placeholder(s) for #{values.length} secret(s)" unless count == values.length
        queue = values.dup
        template.gsub(%r{%[su%]}) do |p|
          case p
          when '%%' then '%'
          when '%s' then scalar(queue.shift)
          else scalar(queue.shift).gsub(UNRESERVED) { |c| c.bytes.map { |b| format_byte(b) }.join }
          end
        end
      end

      def self.format_byte(b)
        '%%%02X' % b
      end

      def self.scalar(value)
        unless value.is_a?(String) || value.is_a?(Numeric)
          raise ArgumentError, "a #{value.class} secret (per-node or structured) cannot be put into a string; use exportfact::secret"
        end
        value.to_s
      end

      # Raises ArgumentError unless the template's placeholders make sense for n values.
      def self.check_format(template, n)
        format(template, Array.new(n, 'x'))
        nil
      end

      # Equal texts, compared by SHA-256 digests in constant time: neither text nor digest
      # leaves this method.
      def self.same?(a, b)
        da = Digest::SHA256.digest(a.to_s.b)
        db = Digest::SHA256.digest(b.to_s.b)
        OpenSSL.fixed_length_secure_compare(da, db)
      rescue NoMethodError
        da == db
      end

      # The text of a node-held secret file: at most 64 KiB, UTF-8, not empty; one trailing
      # newline dropped when chomp.
      def self.read_source(path, chomp: true)
        raise ArgumentError, "source #{path} does not exist" unless File.exist?(path)
        raise ArgumentError, "source #{path} is not a file" unless File.file?(path)
        size = File.size(path)
        raise ArgumentError, "source #{path} is #{size} bytes, more than #{MAX_SOURCE_BYTES}: not a secret" if size > MAX_SOURCE_BYTES
        text = File.binread(path).force_encoding(Encoding::UTF_8)
        raise ArgumentError, "source #{path} is not UTF-8 text" unless text.valid_encoding?
        text = text.chomp if chomp
        raise ArgumentError, "source #{path} is empty" if text.empty?
        text
      rescue SystemCallError => e
        raise ArgumentError, "source #{path} cannot be read: #{e.class.name.split('::').last}"
      end

      # Writes text to path atomically (a temporary file beside it, then rename), with the
      # mode set before any byte is written and owner/group set before the rename. No backup
      # of the old content is made anywhere.
      # @param uid [Integer, nil] @param gid [Integer, nil] @param mode [Integer]
      def self.write_file(path, text, mode:, uid: nil, gid: nil)
        dir = File.dirname(path)
        raise ArgumentError, "directory #{dir} does not exist" unless File.directory?(dir)
        tmp = File.join(dir, ".#{File.basename(path)}.exportfact-#{Process.pid}-#{rand(1 << 32).to_s(16)}")
        begin
          File.open(tmp, File::WRONLY | File::CREAT | File::EXCL, 0o600) do |f|
            f.chmod(0o600)
            f.write(text)
            f.flush
            f.fsync
          end
          File.chown(uid, gid, tmp) if uid || gid
          File.chmod(mode, tmp)
          File.rename(tmp, path)
        ensure
          File.unlink(tmp) if File.exist?(tmp)
        end
      end
    end
  end
end
