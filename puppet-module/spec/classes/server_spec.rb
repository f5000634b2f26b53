# frozen_string_literal: true

require 'spec_helper'
require 'yaml'

describe 'exportfact::server' do
  let(:node) { 'broker.example.test' }
  let(:tarball) { '/srv/exportfact/exportfact-0.1.0.tgz' }
  let(:params) { { npm_tarball: tarball } }
  let(:node_ssldir) { Puppet[:ssldir] }
  let(:shipped_unit) { File.join(ExportfactSpec::MODULE_ROOT, '..', 'packaging', 'exportfact.service') }

  before do
    Puppet[:ca_server] = 'ca.example.test'
    Puppet[:ca_port] = 8141
  end

  # exportfact.yaml as the broker's YAML parser would read it. (Not `config`: rspec-puppet takes
  # any method named like a Puppet setting for that setting.)
  def written(path = '/etc/exportfact/exportfact.yaml')
    YAML.safe_load(catalogue.resource('File', path)[:content])
  end

  def unit_text(path = '/etc/systemd/system/exportfact.service')
    catalogue.resource('File', path)[:content]
  end

  # Lines that configure something: the header comments say who wrote the file.
  def settings_of(text)
    text.lines.map(&:strip).reject { |l| l.empty? || l.start_with?('#') }
  end

  context 'with an npm tarball and every default' do
    it { is_expected.to compile.with_all_deps }

    it 'keeps the tarball and installs it with npm, as root without package scripts, only when it changed' do
      expect(catalogue).to contain_file('/var/cache/exportfact/exportfact.tgz').with(source: tarball, owner: 'root', backup: false)
      install = catalogue.resource('Exec', 'exportfact: npm install')
      expect(install[:command]).to eq(['npm', 'install', '--global', '--prefix', '/usr/local', '--ignore-scripts', '--no-audit',
                                       '--no-fund', '/var/cache/exportfact/exportfact.tgz'])
      expect(install[:unless].first.last(3))
        .to eq(['/var/cache/exportfact/exportfact.tgz', '/var/cache/exportfact/installed.tgz', '/usr/local/bin/exportfact'])
      expect(catalogue).to contain_file('/var/cache/exportfact/installed.tgz')
        .with_source('/var/cache/exportfact/exportfact.tgz').that_requires('Exec[exportfact: npm install]')
    end

    it 'creates the system user and the folders' do
      expect(catalogue).to contain_group('exportfact').with(ensure: 'present', system: true)
      expect(catalogue).to contain_user('exportfact')
        .with(system: true, gid: 'exportfact', home: '/var/lib/exportfact', shell: '/usr/sbin/nologin')
      expect(catalogue).to contain_file('/etc/exportfact').with(ensure: 'directory', owner: 'root', group: 'exportfact', mode: '0750')
      expect(catalogue).to contain_file('/var/lib/exportfact').with(ensure: 'directory', owner: 'exportfact', mode: '0700')
    end

    it 'writes exportfact.yaml: the TLS copies, the Puppet CA\'s CRL, the embedded store, key files in the state folder' do
      expect(written).to eq(
        'ssldir' => '/etc/exportfact/ssl', 'certname' => 'broker.example.test',
        'crl-url' => 'https://ca.example.test:8141/puppet-ca/v1/certificate_revocation_list/ca',
        'listen' => '0.0.0.0:8150', 'admin-listen' => '127.0.0.1:8151', 'data-dir' => '/var/lib/exportfact/data',
        'keyring' => '/var/lib/exportfact/keyring.json', 'audit-key' => '/var/lib/exportfact/audit-signing.key',
        'admin-signing-key' => '/var/lib/exportfact/admin-token.key'
      )
      expect(catalogue).to contain_file('/etc/exportfact/exportfact.yaml')
        .with(owner: 'root', group: 'exportfact', mode: '0640', validate_cmd: '/usr/local/bin/exportfact config check %')
        .that_requires('Class[exportfact::server::install]')
    end

    it 'copies the node\'s ssldir on the node: sources are local paths, the key readable by the group only, never in the catalog' do
      { 'certs/ca.pem' => '0644', 'crl.pem' => '0644', 'certs/broker.example.test.pem' => '0644' }.each do |file, mode|
        expect(catalogue).to contain_file("/etc/exportfact/ssl/#{file}").with(source: "#{node_ssldir}/#{file}", mode: mode, links: 'follow')
      end
      key = catalogue.resource('File', '/etc/exportfact/ssl/private_keys/broker.example.test.pem')
      expect(key.to_hash).to include(source: "#{node_ssldir}/private_keys/broker.example.test.pem", owner: 'root', group: 'exportfact',
                                     mode: '0640', backup: false, show_diff: false)
      expect(key[:content]).to be_nil
    end

    it 'keeps owner and mode of the key files the broker makes, without creating or reading them' do
      %w[keyring.json audit-signing.key admin-token.key].each do |name|
        file = catalogue.resource('File', "/var/lib/exportfact/#{name}")
        expect(file.to_hash).to include(owner: 'exportfact', group: 'exportfact', mode: '0600')
        expect([file[:ensure], file[:content], file[:source]]).to eq([nil, nil, nil])
      end
    end

    it 'writes the shipped unit, unchanged but for comments' do
      expect(settings_of(unit_text)).to eq(settings_of(File.read(shipped_unit)))
      expect(unit_text).to match(%r{^ExecStart=/usr/local/bin/exportfact serve --config /etc/exportfact/exportfact.yaml --log-format json$})
    end

    it 'runs the service, restarted when the installation, certificates, key, configuration or unit change, not the CRL' do
      changes = ['Class[exportfact::server::install]', 'File[/etc/exportfact/exportfact.yaml]',
                 'File[/etc/systemd/system/exportfact.service]', 'File[/etc/exportfact/ssl/certs/ca.pem]',
                 'File[/etc/exportfact/ssl/certs/broker.example.test.pem]',
                 'File[/etc/exportfact/ssl/private_keys/broker.example.test.pem]']
      expect(catalogue).to contain_service('exportfact').with(ensure: 'running', enable: true, provider: 'systemd')
      changes.each { |change| expect(catalogue).to contain_service('exportfact').that_subscribes_to(change) }
      expect(catalogue.resource('Service', 'exportfact')[:subscribe].map(&:to_s)).not_to include('File[/etc/exportfact/ssl/crl.pem]')
    end
  end

  context 'with an https:// tarball' do
    let(:params) { { npm_tarball: 'https://artifacts.example.test/exportfact/exportfact-0.1.0.tgz' } }

    it { is_expected.to contain_file('/var/cache/exportfact/exportfact.tgz').with_source(params[:npm_tarball]) }
  end

  context 'with a system package' do
    let(:params) { { package_name: 'exportfact', package_ensure: '0.1.0-1' } }

    it { is_expected.to compile.with_all_deps }
    it { is_expected.to contain_package('exportfact').with_ensure('0.1.0-1') }
    it { is_expected.not_to contain_exec('exportfact: npm install') }
    it { is_expected.to contain_file('/etc/exportfact/exportfact.yaml').with_validate_cmd('/usr/bin/exportfact config check %') }

    it 'starts the packaged command' do
      expect(unit_text).to match(%r{^ExecStart=/usr/bin/exportfact serve --config /etc/exportfact/exportfact.yaml --log-format json$})
      expect(unit_text).to match(%r{^Documentation=man:exportfact\(1\)$})
    end
  end

  context 'with PostgreSQL' do
    let(:params) { { npm_tarball: tarball, database_url: 'postgres://exportfact@db.example.test:5432/exportfact?sslmode=verify-full' } }

    it 'uses it instead of the embedded store' do
      expect(written['database-url']).to eq(params[:database_url])
      expect(written).not_to have_key('data-dir')
    end

    context 'with a data_dir outside the state folder' do
      let(:params) { super().merge(data_dir: '/srv/exportfact-data') }

      it { expect(unit_text).not_to include('ReadWritePaths') }
    end
  end

  context 'with manage_service => false' do
    let(:params) { { npm_tarball: tarball, manage_service: false } }

    it { is_expected.not_to contain_service('exportfact') }
    it { is_expected.to contain_file('/etc/systemd/system/exportfact.service') }
  end

  context 'with folders of its own (outside /etc and /var/lib)' do
    let(:params) do
      { npm_tarball: tarball, install_prefix: '/opt/exportfact', config_dir: '/srv/ef/etc', state_dir: '/srv/ef/state',
        unit_dir: '/srv/ef/systemd', data_dir: '/srv/ef/data', keyring: '/srv/ef/keys/keyring.json', user: 'ef_test', group: 'ef_test' }
    end

    it 'names them in the unit instead of systemd\'s StateDirectory and ConfigurationDirectory' do
      text = unit_text('/srv/ef/systemd/exportfact.service')
      expect(text).to match(%r{^ExecStart=/opt/exportfact/bin/exportfact serve --config /srv/ef/etc/exportfact.yaml --log-format json$})
      expect(text.scan(%r{^(?:WorkingDirectory|ReadWritePaths|User|Group)=.*$}))
        .to eq(['User=ef_test', 'Group=ef_test', 'WorkingDirectory=/srv/ef/state', 'ReadWritePaths=-/srv/ef/state',
                'ReadWritePaths=-/srv/ef/data', 'ReadWritePaths=-/srv/ef/keys'])
      expect(text).not_to match(%r{^(StateDirectory|ConfigurationDirectory)=})
      expect(written('/srv/ef/etc/exportfact.yaml')['keyring']).to eq('/srv/ef/keys/keyring.json')
    end
  end

  context 'with the TLS files in place, one of them given' do
    let(:params) { { npm_tarball: tarball, copy_tls: false, key_file: '/etc/exportfact-keys/broker.pem', crl_url: false } }

    it 'points the broker at them and copies nothing' do
      expect(written).to include('ssldir' => node_ssldir, 'certname' => 'broker.example.test', 'key' => '/etc/exportfact-keys/broker.pem')
      expect(written).not_to have_key('crl-url')
      expect(catalogue).not_to contain_file('/etc/exportfact/ssl')
    end
  end

  context 'with given files copied' do
    let(:params) { { npm_tarball: tarball, cert_file: '/etc/pki/broker.pem', key_file: '/etc/pki/broker.key' } }

    it { is_expected.to contain_file('/etc/exportfact/ssl/certs/broker.example.test.pem').with_source('/etc/pki/broker.pem') }
    it { is_expected.to contain_file('/etc/exportfact/ssl/private_keys/broker.example.test.pem').with_source('/etc/pki/broker.key') }
    it { is_expected.to contain_file('/etc/exportfact/ssl/certs/ca.pem').with_source("#{node_ssldir}/certs/ca.pem") }
  end

  context 'with admins and more options' do
    let(:params) do
      { npm_tarball: tarball, admin_certnames: ['ops1.example.test', 'ops2.example.test'], log_level: 'warn',
        options: { 'secret-grace' => 3600, 'audit-trust-key' => ['/etc/exportfact/peer.pub'] } }
    end

    it 'writes them after the rest' do
      expect(written.keys.last(4)).to eq(%w[admin-certname log-level secret-grace audit-trust-key])
      expect(written.values_at('admin-certname', 'secret-grace', 'audit-trust-key'))
        .to eq([['ops1.example.test', 'ops2.example.test'], 3600, ['/etc/exportfact/peer.pub']])
    end
  end

  [
    [{}, %r{npm_tarball .*package_name.*exactly one}],
    [{ package_name: 'exportfact' }, %r{exactly one}],
    [{ npm_tarball: 'http://artifacts.example.test/exportfact-0.1.0.tgz' }, %r{npm_tarball}],
    [{ npm_tarball: 'https://artifacts.example.test/exportfact-0.1.0.tgz?token=s3cret' }, %r{npm_tarball}],
    [{ npm_tarball: 'exportfact-0.1.0.tgz' }, %r{npm_tarball}],
    [{ database_url: 'postgres://exportfact:s3cret@db.example.test/exportfact' }, %r{database_url}],
    [{ database_url: 'postgres://exportfact@db.example.test/exportfact?password=s3cret' }, %r{database_url}],
    [{ database_url: 'mysql://db.example.test/exportfact' }, %r{database_url}],
    [{ listen: '0.0.0.0' }, %r{listen}],
    [{ admin_listen: '127.0.0.1:70000' }, %r{admin_listen}],
    [{ state_dir: 'var/lib/exportfact' }, %r{state_dir}],
    [{ config_dir: '/etc/export fact' }, %r{config_dir}],
    [{ keyring: '/var/lib/exportfact/%n.json' }, %r{keyring}],
    [{ user: 'Exportfact' }, %r{user}],
    [{ certname: 'Broker.example.test' }, %r{certname}],
    [{ crl_url: 'http://puppet:8140/puppet-ca/v1/certificate_revocation_list/ca' }, %r{crl_url}],
    [{ crl_url: true }, %r{crl_url}],
    [{ service_ensure: 'restarted' }, %r{service_ensure}],
    [{ options: { 'database-url' => 'postgres://db/x' } }, %r{options database-url: set by the class parameters}],
    [{ options: { 'audit-device' => "/x\"\nkey: 1" } }, %r{options}],
  ].each do |bad, message|
    context "with #{bad}" do
      # Every case but the first gives a tarball: only the parameter under test is wrong.
      let(:params) { bad.empty? ? {} : { npm_tarball: tarball }.merge(bad) }

      it { is_expected.to compile.and_raise_error(message) }
    end
  end
end
