# frozen_string_literal: true

# Unit tests run with Debian's rspec-puppet (no gems needed), 2.9 with Puppet 7 (Debian 12)
# and 4.0 with Puppet 8 (Debian 13: scripts/puppet8.sh --command rspec spec):
#   cd puppet-module && rspec spec
require 'tmpdir'
require 'fileutils'
require 'rspec-puppet'

module ExportfactSpec
  MODULE_ROOT = File.expand_path('..', __dir__)

  # rspec-puppet needs the module in a folder named after it.
  # (rspec-puppet's own fixture set-up would link it inside spec/, where rspec finds the
  # specs twice; a temporary folder avoids that and leaves the work tree clean.)
  def self.tmp
    @tmp ||= Dir.mktmpdir('exportfact-spec').tap { |dir| at_exit { FileUtils.rm_rf(dir) } }
  end

  def self.module_path
    @module_path ||= File.join(tmp, 'modules').tap do |dir|
      FileUtils.mkdir_p(dir)
      File.symlink(MODULE_ROOT, File.join(dir, 'exportfact'))
    end
  end

  def self.manifest_dir
    @manifest_dir ||= File.join(tmp, 'manifests').tap do |dir|
      FileUtils.mkdir_p(dir)
      FileUtils.touch(File.join(dir, 'site.pp'))
    end
  end
end

$LOAD_PATH.unshift(File.join(ExportfactSpec::MODULE_ROOT, 'lib'))

RSpec.configure do |c|
  c.module_path = [ExportfactSpec.module_path, File.join(ExportfactSpec::MODULE_ROOT, 'examples')].join(File::PATH_SEPARATOR)
  c.setup_fixtures = false
  c.manifest_dir = ExportfactSpec.manifest_dir if c.respond_to?(:manifest_dir=) # rspec-puppet 2 only
  c.manifest = File.join(ExportfactSpec.manifest_dir, 'site.pp')
  # Puppet 8's defaults, on Puppet 7 too: an unknown variable is an error, so is what
  # `strict` finds.
  c.strict_variables = true
  c.default_facts = {
    'networking' => { 'fqdn' => 'node1.example.test', 'hostname' => 'node1' },
    'os' => { 'family' => 'Debian' },
  }
  c.before do
    Puppet[:strict] = :error
  end
  # Each example has its own broker: no client of the run outlives it.
  c.after do
    PuppetX::Exportfact::RunClient.reset if defined?(PuppetX::Exportfact::RunClient)
  end
end
