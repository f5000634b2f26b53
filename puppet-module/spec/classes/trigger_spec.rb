# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'
require 'puppet_x/exportfact/trigger/settings'

describe 'exportfact::trigger' do
  let(:confdir) { '/etc/puppetlabs/puppet' }
  let(:facts) do
    { 'exportfact_status' => { 'source' => 'broker', 'config_file' => "#{confdir}/exportfact.yaml" },
      'ruby' => { 'sitedir' => '/opt/puppetlabs/puppet/lib/ruby/site_ruby/2.7.0' } }
  end
  let(:unit) { '/etc/systemd/system/exportfact-trigger.service' }
  let(:settings_file) { "#{confdir}/exportfact_trigger.yaml" }

  # The settings file as the trigger itself reads it (PuppetX::Exportfact::Trigger::Settings).
  def written
    Dir.mktmpdir('exportfact-trigger-spec') do |dir|
      file = File.join(dir, 'exportfact_trigger.yaml')
      File.write(file, catalogue.resource('File', settings_file)[:content])
      PuppetX::Exportfact::Trigger::Settings.load(file)
    end
  end

  def exec_start
    catalogue.resource('File', unit)[:content][%r{^ExecStart=(.*)$}, 1]
  end

  context 'with the defaults, on an agent of Puppet\'s own packages' do
    it { is_expected.to compile.with_all_deps }

    it 'installs the program from the module and runs it with Puppet\'s Ruby and the node\'s confdir' do
      expect(catalogue).to contain_file('/usr/local/sbin/exportfact-trigger')
        .with(mode: '0755', source: 'puppet:///modules/exportfact/exportfact-trigger')
      expect(exec_start).to eq('"/opt/puppetlabs/puppet/bin/ruby" "/usr/local/sbin/exportfact-trigger" ' \
                               '"--confdir" "/etc/puppetlabs/puppet" "--config" "/etc/puppetlabs/puppet/exportfact_trigger.yaml"')
    end

    it 'writes settings the trigger reads: the agent\'s one run, a minute apart at most once' do
      expect([written.command, written.min_interval, written.wait]).to eq(['puppet agent --onetime --no-daemonize', 60, 60])
    end

    it 'stops only the trigger on a restart, never the Puppet run it started' do
      expect(catalogue.resource('File', unit)[:content]).to match(%r{^KillMode=process$})
    end

    it 'runs the service, restarted when the program, its settings or the unit change' do
      expect(catalogue).to contain_service('exportfact-trigger')
        .with(ensure: 'running', enable: true, provider: 'systemd')
        .that_subscribes_to(["File[#{unit}]", "File[#{settings_file}]", 'File[/usr/local/sbin/exportfact-trigger]'])
    end
  end

  context 'with a puppet apply command holding quotes, backslashes and a path with spaces' do
    let(:command) { %(FACTER_x="a b" puppet apply --modulepath '/srv/my modules' /srv/site.pp \\\n).chomp }
    let(:params) { { command: command, min_interval: 0, wait: 300, script: '/opt/my tools/exportfact-trigger%$x' } }

    it 'writes the command as it was given' do
      expect([written.command, written.min_interval, written.wait]).to eq([command, 0, 300])
    end

    it 'quotes each word of ExecStart, systemd\'s % and $ doubled' do
      expect(exec_start).to start_with('"/opt/puppetlabs/puppet/bin/ruby" "/opt/my tools/exportfact-trigger%%$$x" ')
    end
  end

  context 'with the operating system\'s Puppet (Debian) and no exportfact fact yet' do
    let(:facts) { { 'ruby' => { 'sitedir' => '/usr/local/lib/site_ruby/3.1.0' } } }

    it { expect(exec_start).to start_with(%("/usr/bin/ruby" "/usr/local/sbin/exportfact-trigger" "--confdir" "#{Puppet[:confdir]}" )) }
  end

  context 'with a libdir given' do
    let(:params) { { libdir: '/srv/modules/exportfact/lib' } }

    it { expect(exec_start).to end_with('"--libdir" "/srv/modules/exportfact/lib"') }
  end

  context 'when absent' do
    let(:params) { { ensure: 'absent' } }

    it 'stops the service before it removes the unit, and removes the files' do
      expect(catalogue).to contain_service('exportfact-trigger').with(ensure: 'stopped', enable: false).that_comes_before("File[#{unit}]")
      ['/usr/local/sbin/exportfact-trigger', settings_file, unit].each { |f| expect(catalogue).to contain_file(f).with_ensure('absent') }
    end
  end

  context 'with manage_service false' do
    let(:params) { { manage_service: false } }

    it { is_expected.not_to contain_service('exportfact-trigger') }
    it { is_expected.to contain_file(unit) }
  end

  [
    [{ wait: 301 }, %r{wait}],
    [{ min_interval: -1 }, %r{min_interval}],
    [{ command: "puppet agent\nrm -rf /" }, %r{command}],
    [{ command: '  ' }, %r{command}],
    [{ script: 'exportfact-trigger' }, %r{script}],
  ].each do |bad, field|
    context "with #{bad}" do
      let(:params) { bad }

      it { is_expected.to compile.and_raise_error(field) }
    end
  end
end
