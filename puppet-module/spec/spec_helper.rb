# frozen_string_literal: true

# Unit tests run with Debian's rspec-puppet (no gems needed):
#   cd puppet-module && rspec spec
require 'tmpdir'
require 'fileutils'
require 'rspec-puppet'

module ExportfactSpec
  MODULE_ROOT = File.expand_path('..', __dir__)

  # rspec-puppet needs the module in a folder named after it.
  def self.module_path
    @module_path ||= begin
      dir = Dir.mktmpdir('exportfact-spec-modules')
      File.symlink(MODULE_ROOT, File.join(dir, 'exportfact'))
      at_exit { FileUtils.rm_rf(dir) }
      dir
    end
  end
end

$LOAD_PATH.unshift(File.join(ExportfactSpec::MODULE_ROOT, 'lib'))

RSpec.configure do |c|
  c.module_path = [ExportfactSpec.module_path, File.join(ExportfactSpec::MODULE_ROOT, 'examples')].join(File::PATH_SEPARATOR)
  c.manifest_dir = File.join(ExportfactSpec::MODULE_ROOT, 'spec', 'fixtures', 'manifests')
  c.default_facts = {
    'networking' => { 'fqdn' => 'node1.example.test', 'hostname' => 'node1' },
    'os' => { 'family' => 'Debian' },
  }
  c.before(:each) do
    Puppet[:strict] = :warning
  end
end
