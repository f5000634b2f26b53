# frozen_string_literal: true

require_relative '../../../puppet_x/exportfact/secrets'
require_relative '../../../puppet_x/exportfact/names'

# @summary Builds a string around a secret (e.g. a connection string) on the agent; for `Deferred`.
#
# For modules that take a whole connection string rather than a password. In the format,
# `%s` is the secret as it is, `%u` the secret percent-encoded (safe in the user or password
# part of a URL, whatever the alphabet), `%%` a literal `%`. Returns `Sensitive`.
#
# Either fetches the secret itself (`format, 'category.name'[, options]` or
# `format, category, name[, options]`; options as `exportfact::secret`), or formats
# `Sensitive` values given to it, such as nested `Deferred('exportfact::secret', ...)`
# values (one placeholder per value).
#
# Like every Deferred function it runs before anything is applied: a failure stops the
# whole apply (see `exportfact::secret`).
# On Puppet 8 it needs `preprocess_deferred = true` (see `exportfact::secret`).
Puppet::Functions.create_function(:'exportfact::secret_format') do
  # Local types `Name` and `Key`: the rules of Exportfact::Name and Exportfact::Key, which a
  # Deferred function cannot use on an agent (see PuppetX::Exportfact::Names::PUPPET_TYPES).
  local_types { PuppetX::Exportfact::Names::PUPPET_TYPES.each { |t| type(t) } }

  # Fetches the secret named `category.name` and puts it into the format.
  # @param format The string, with one `%s` or `%u` for the secret.
  # @param key The secret, `category.name` (as `Exportfact::Key`).
  # @param options `{version => N}` or `{generate => {...}}`.
  # @return [Sensitive] The string with the secret in it.
  # @example A connection string for a module that wants one
  #   class { 'nova::db':
  #     database_connection => Deferred('exportfact::secret_format',
  #       ['mysql+pymysql://nova:%u@db.example.com/nova', 'nova.db_password']),
  #   }
  dispatch :format_key do
    param 'String[1]', :format
    param 'Key', :key
    optional_param 'Hash[String, Any]', :options
    return_type 'Sensitive'
  end

  # Fetches the secret named by category and name and puts it into the format.
  # @param format The string, with one `%s` or `%u` for the secret.
  # @param category The category (as `Exportfact::Name`).
  # @param name The name (as `Exportfact::Name`).
  # @param options `{version => N}` or `{generate => {...}}`.
  # @return [Sensitive] The string with the secret in it.
  dispatch :format_name do
    param 'String[1]', :format
    param 'Name', :category
    param 'Name', :name
    optional_param 'Hash[String, Any]', :options
    return_type 'Sensitive'
  end

  # Puts Sensitive values (e.g. nested Deferred secrets) into the format.
  # @param format The string, with one placeholder per value.
  # @param values Sensitive values, e.g. `Deferred('exportfact::secret', [...])`.
  # @return [Sensitive] The string with the values in it.
  # @example Two secrets in one string
  #   Deferred('exportfact::secret_format', ['amqp://%u:%u@mq/', Deferred('exportfact::secret', ['mq.user']),
  #     Deferred('exportfact::secret', ['mq.password'])])
  dispatch :format_values do
    param 'String[1]', :format
    repeated_param 'Sensitive', :values
    return_type 'Sensitive'
  end

  def format_key(format, key, options = {})
    req = PuppetX::Exportfact::Secrets::Functions.request('exportfact::secret_format', key, options)
    PuppetX::Exportfact::Secrets::Functions.secret_format(closure_scope, format, req, cache: run_cache)
  end

  def format_name(format, category, name, options = {})
    req = PuppetX::Exportfact::Secrets::Functions.request('exportfact::secret_format', category, name, options)
    PuppetX::Exportfact::Secrets::Functions.secret_format(closure_scope, format, req, cache: run_cache)
  end

  def format_values(format, *values)
    PuppetX::Exportfact::Secrets::Functions.format_values(format, values)
  end

  private

  # Puppet loads one instance of this function per resolution of a catalog's Deferred values:
  # its answers are kept here, in memory, for that run only.
  def run_cache
    @run_cache ||= {}
  end
end
