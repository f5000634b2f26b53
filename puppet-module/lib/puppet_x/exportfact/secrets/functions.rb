# frozen_string_literal: true

require 'puppet'

module PuppetX
  module Exportfact
    # The functions exportfact::secret and exportfact::secret_format (see secrets.rb).
    module Secrets
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
          unless compiler.nil? || compiler.is_a?(Puppet::Parser::ScriptCompiler)
            raise Puppet::ParseError, "#{fname}: call it through Deferred('#{fname}', [...]) so that it runs on the agent at apply time; " \
                                      'called while compiling, the secret would land in the catalog'
          end
          check_preprocessed!(fname)
        end

        # With `preprocess_deferred = false` (Puppet 8's default; Puppet 7's is true) Puppet
        # resolves a Deferred value when it reaches the resource, unwraps a Sensitive result and
        # does not mark the parameter sensitive (measured with Puppet 8.10): a file's report
        # then shows the secret's SHA-256, other types the secret itself. Refused, with the fix.
        def self.check_preprocessed!(fname)
          return unless Puppet.settings.include?(:preprocess_deferred) && !Puppet[:preprocess_deferred]

          raise Puppet::Error, "#{fname}: refusing to run with preprocess_deferred = false (Puppet 8's default): Puppet would not keep " \
                               'the secret Sensitive, and it (or its digest) would reach the run\'s output and report. Set ' \
                               'preprocess_deferred = true in puppet.conf on this node, or use exportfact_secret_file'
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

        def self.check_template(template, count, fname)
          Secrets.check_format(template, count)
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
    end
  end
end
