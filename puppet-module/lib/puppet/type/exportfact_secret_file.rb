# frozen_string_literal: true

require_relative '../../puppet_x/exportfact/secrets'

Puppet::Type.newtype(:exportfact_secret_file) do
  @doc = <<-DOC
    @summary Writes a secret from the exportfact broker into a file, at apply time.

    The provider fetches the secret over the broker's mutual TLS with this node's
    certificate when Puppet reaches this resource, and writes it (atomically, mode set
    before the first byte) with the given owner, group and mode. The value never enters
    the catalog, the facts, PuppetDB or the report: the catalog holds only the secret's
    name, and the report says `content changed` with the secret's version, never the value
    or a digest of it. The old content is not backed up to a filebucket.

    If the broker cannot be reached, or refuses (e.g. `404 secret_not_found`), only this
    resource fails; its dependents are skipped and the rest of the run goes on. (A Deferred
    `exportfact::secret` that fails stops the whole apply instead: prefer this type.)

    With `generate`, the broker makes the password if it does not exist yet (once: every
    node asking gets the same value) and hands it out; without it the secret must have been
    published (by a node with `exportfact_secret_export`) or generated before.

    @example A generated database password, readable by the service only
      exportfact_secret_file { '/etc/keystone/db_password':
        secret   => 'keystone.db_password',
        generate => { 'length' => 32, 'alphabet' => 'alnum' },
        owner    => 'keystone',
        group    => 'keystone',
        mode     => '0440',
        notify   => Service['keystone'],
      }

    @example The secret inside a small config file
      exportfact_secret_file { '/etc/nova/db.conf':
        secret => 'nova.db_password',
        format => "[database]\\nconnection = mysql+pymysql://nova:%u@db/nova\\n",
        owner  => 'nova',
        mode   => '0400',
      }
  DOC

  ensurable do
    desc 'Whether the file holds the secret (`present`) or is removed (`absent`).'
    defaultvalues
    defaultto :present

    def change_to_s(_current, desired)
      case desired
      when :present then "wrote secret #{resource[:secret]}#{provider.version_note} (content not shown)"
      when :absent then 'removed the secret file'
      else super
      end
    end
  end

  newparam(:path, namevar: true) do
    desc 'The file to write (absolute path).'
    validate do |v|
      absolute = v.is_a?(String) && Puppet::Util.absolute_path?(v)
      raise ArgumentError, "exportfact_secret_file: path #{v.inspect} must be absolute" unless absolute
      raise ArgumentError, "exportfact_secret_file: path #{v.inspect} must name a file, not a directory" if v.end_with?('/')
    end
  end

  newparam(:secret) do
    desc 'The secret, as `category.name`.'
    validate do |v|
      PuppetX::Exportfact::Names.split_key('exportfact_secret_file: secret', v)
    end
  end

  newparam(:version) do
    desc 'Pin a version (e.g. a `pending` one, or the `previous` one during its grace period); default the current one.'
    munge { |v| v.is_a?(String) && v.match?(%r{\A\d+\z}) ? Integer(v) : v }
    validate do |v|
      raise ArgumentError, "exportfact_secret_file: version must be a positive integer, got #{v.inspect}" unless
        (v.is_a?(Integer) && v.positive?) || (v.is_a?(String) && v.match?(%r{\A[1-9]\d*\z}))
    end
  end

  newparam(:generate) do
    desc <<-DESC
      Generate-if-absent: `{ 'length' => 8..1024 (default 32), 'alphabet' => 'alnum' | 'hex' |
      'base64url' | 'printable' | '<the characters to use>' }` (or `true` for the defaults).
      The broker makes the value once; every node that asks gets the same one.
    DESC
    validate do |v|
      PuppetX::Exportfact::Secrets.check_generate(v)
    rescue ArgumentError => e
      raise ArgumentError, "exportfact_secret_file: #{e.message}"
    end
    munge { |v| PuppetX::Exportfact::Secrets.check_generate(v) }
  end

  newparam(:format) do
    desc <<-DESC
      What the file holds around the secret: `%s` is the secret as it is, `%u` the secret
      percent-encoded (for the password part of a URL), `%%` a literal `%`. Exactly one
      placeholder. Default `%s` (the secret alone, no newline); `"%s\\n"` adds a newline.
    DESC
    defaultto '%s'
    validate do |v|
      raise ArgumentError, 'exportfact_secret_file: format must be a string' unless v.is_a?(String)

      PuppetX::Exportfact::Secrets.check_format(v, 1)
    rescue ArgumentError => e
      raise ArgumentError, "exportfact_secret_file: #{e.message}"
    end
  end

  newproperty(:content) do
    desc <<-DESC
      Managed for you (do not set it): whether the file holds the secret. Compared by
      SHA-256 digests on the agent; the report says `current` or `outdated`, never the value.
    DESC
    newvalues(:current)
    defaultto { @resource[:ensure] == :absent ? nil : :current }

    def insync?(is)
      is == :current
    end

    def change_to_s(current, _desired)
      verb = current == :absent ? 'written' : 'changed'
      "content #{verb}: secret #{resource[:secret]}#{provider.version_note} (value not shown)"
    end

    # Values are symbols (current, outdated, absent): nothing of the secret.
    def is_to_s(value)
      value.to_s
    end

    def should_to_s(value)
      value.to_s
    end
  end

  newproperty(:owner) do
    desc 'Owner of the file (name or uid). Unmanaged when not given (a new file belongs to the user Puppet runs as).'
    def insync?(is)
      provider.uid(should) == is
    end

    def is_to_s(value)
      value.to_s
    end
  end

  newproperty(:group) do
    desc 'Group of the file (name or gid). Unmanaged when not given.'
    def insync?(is)
      provider.gid(should) == is
    end

    def is_to_s(value)
      value.to_s
    end
  end

  newproperty(:mode) do
    desc 'Mode of the file, in octal (default `0600`).'
    defaultto '0600'
    validate do |v|
      octal = v.to_s.match?(%r{\A0?[0-7]{3,4}\z})
      raise ArgumentError, "exportfact_secret_file: mode #{v.inspect} must be octal such as '0600'" unless octal
    end
    munge { |v| Kernel.format('%04o', v.to_s.to_i(8)) }
  end

  validate do
    next if self[:ensure] == :absent
    raise ArgumentError, "exportfact_secret_file[#{self[:path]}]: secret is required ('category.name')" unless self[:secret]

    if self[:version] && self[:generate]
      raise ArgumentError, "exportfact_secret_file[#{self[:path]}]: version and generate cannot be combined " \
                           '(generate hands out the current version)'
    end
  end

  # Its folder, and exportfact.yaml (the class exportfact::agent may write it in the same run).
  autorequire(:file) { [File.dirname(self[:path]), PuppetX::Exportfact::Config.default_path] }
  autorequire(:user) { [should(:owner)].compact.select { |o| o.is_a?(String) && !o.match?(%r{\A\d+\z}) } }
  autorequire(:group) { [should(:group)].compact.select { |g| g.is_a?(String) && !g.match?(%r{\A\d+\z}) } }

  # The broker request this resource makes.
  def secret_request
    category, name = PuppetX::Exportfact::Names.split_key('secret', self[:secret])
    opts = {}
    opts['version'] = Integer(self[:version]) if self[:version]
    opts['generate'] = self[:generate] if self[:generate]
    PuppetX::Exportfact::Secrets::Request.new(category, name, opts)
  end
end
