# frozen_string_literal: true

require 'etc'
require_relative '../../../puppet_x/exportfact/secrets'
require_relative '../../../puppet_x/exportfact/files'

Puppet::Type.type(:exportfact_secret_file).provide(:broker) do
  desc 'Fetches the secret from the exportfact broker with this node\'s certificate and writes the file.'

  confine feature: :posix

  # The run's connection to the broker ends with the run.
  def self.post_resource_eval
    PuppetX::Exportfact::RunClient.close
  end

  def exists?
    File.exist?(path)
  end

  def create
    write
  end

  def destroy
    File.unlink(path)
  end

  # :current when the file holds exactly what the secret (in its format) is, else :outdated.
  # Fetching here is what makes a broker fault fail this resource only.
  def content
    return :absent unless File.exist?(path)

    current = File.binread(path)
    PuppetX::Exportfact::Secrets.same?(current, wanted) ? :current : :outdated
  rescue Errno::EACCES, Errno::EISDIR => e
    raise Puppet::Error, "exportfact: cannot read #{path}: #{e.class.name.split('::').last}"
  end

  def content=(_should)
    write
  end

  def owner
    stat&.uid || :absent
  end

  def owner=(should)
    File.chown(uid(should), nil, path)
  end

  def group
    stat&.gid || :absent
  end

  def group=(should)
    File.chown(nil, gid(should), path)
  end

  def mode
    st = stat
    st ? Kernel.format('%04o', st.mode & 0o7777) : :absent
  end

  def mode=(should)
    File.chmod(should.to_i(8), path)
  end

  # The uid for an owner name or number; a missing user fails this resource.
  def uid(value)
    return nil if value.nil?
    return Integer(value) if value.is_a?(Integer) || value.to_s.match?(%r{\A\d+\z})

    Etc.getpwnam(value.to_s).uid
  rescue ArgumentError
    raise Puppet::Error, "exportfact: no user #{value} for #{path}"
  end

  def gid(value)
    return nil if value.nil?
    return Integer(value) if value.is_a?(Integer) || value.to_s.match?(%r{\A\d+\z})

    Etc.getgrnam(value.to_s).gid
  rescue ArgumentError
    raise Puppet::Error, "exportfact: no group #{value} for #{path}"
  end

  # " version N" (the broker's version of the secret handed out), for change messages.
  def version_note
    @fetched && @fetched['version'] ? " version #{@fetched['version']}" : ''
  end

  private

  def path
    resource[:path]
  end

  # The mode asked for, else the file's own, else 0600.
  def wanted_mode
    return resource.should(:mode) if resource.should(:mode)

    current = mode
    current == :absent ? '0600' : current
  end

  def stat
    File.stat(path)
  rescue Errno::ENOENT
    nil
  end

  # The text the file must hold: the secret in its format.
  def wanted
    PuppetX::Exportfact::Secrets.format(resource[:format] || '%s', [PuppetX::Exportfact::Secrets.text(fetched['value'])])
  rescue ArgumentError => e
    raise Puppet::Error, "exportfact: #{resource[:secret]}: #{e.message}"
  end

  def fetched
    @fetched ||= begin
      req = resource.secret_request
      cache = PuppetX::Exportfact::Secrets.cache_for(resource.catalog)
      PuppetX::Exportfact::Secrets.fetch(req, cache: cache)
    rescue PuppetX::Exportfact::Error => e
      raise Puppet::Error, PuppetX::Exportfact::Secrets.describe_error(req, e)
    end
  end

  def write
    owner = uid(resource.should(:owner))
    group = gid(resource.should(:group))
    PuppetX::Exportfact::Files.write_atomically(path, wanted, mode: wanted_mode.to_i(8), uid: owner, gid: group)
  rescue SystemCallError => e
    raise Puppet::Error, "exportfact: cannot write #{path}: #{e.class.name.split('::').last}"
  rescue ArgumentError => e
    raise Puppet::Error, "exportfact: cannot write #{path}: #{e.message}"
  end
end
