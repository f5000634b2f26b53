# @summary Deploys the exportfact broker on this node: package, user, folders, `exportfact.yaml`, systemd unit, service.
#
# Installs the broker from the npm tarball you give (`npm install --global`, run by root with
# `--ignore-scripts`) or from a system package, creates its system user and group, the
# configuration folder (`0750 root:<group>`) and the state folder (`0700 <user>`, the user's
# home), writes `exportfact.yaml` from the parameters (checked with `exportfact config check`
# before it replaces the old one) and the systemd unit (the shipped `exportfact.service`,
# hardening included, with the paths of this installation), and runs the service.
#
# **TLS.** The broker presents the node's own Puppet certificate and trusts the Puppet CA: by
# default the class copies the four files of the node's ssldir (`certs/ca.pem`, `crl.pem`,
# `certs/<certname>.pem`, `private_keys/<certname>.pem`) into `<config_dir>/ssl`, laid out as
# an ssldir, the private key `0640 root:<group>`, so that only the broker's user can read it.
# The copies are made on the node from local paths (a `source` that is an absolute path is
# read by the agent from its own disk, never by the server; only the path is in the catalog),
# without a filebucket backup or a diff. Why a copy: Puppet's private keys are `0640` for the
# `puppet` group or `0600 root`, and on a Puppet server the `puppet` group can also read the
# CA's signing key, so adding the broker's user to it would let a compromised broker issue
# certificates; Debian's `/var/lib/puppet` is not even traversable by others. Revocations
# reach the broker through `crl_url` (polled), since the node's `crl.pem` is rarely refreshed.
#
# **Keys.** The keyring, the audit signing key and the admin token key are created by the
# broker at its first start (`0600`, in the state folder by default) and never pass through
# the catalog: the class only keeps the owner and mode of those that exist. For several brokers
# on one PostgreSQL, give each the first broker's keyring (copied by you, not by Puppet).
# A database password goes in `<state_dir>/.pgpass` (the broker user's home), never here.
#
# @param npm_tarball
#   The broker's tarball (`npm pack` in the repository): a path on the node or an https:// URL.
#   It is kept in `download_dir` and installed again whenever it changes.
# @param package_name
#   A system package that installs the broker instead (then `command` says where its
#   `exportfact` is, default `/usr/bin/exportfact`). Give `npm_tarball` or `package_name`.
# @param package_ensure
#   `ensure` of that package.
# @param npm_command
#   The `npm` to install with (a name looked up in the usual bin folders, or a path).
# @param npm_install_options
#   More options of `npm install` (e.g. `--prefer-offline`, `--registry=...`). The default
#   runs no package script as root.
# @param install_prefix
#   `npm install --global --prefix`: the command lands in `<install_prefix>/bin/exportfact`.
# @param download_dir
#   Where the tarball that was installed is kept (root only), to install again when it changes.
# @param command
#   The installed `exportfact` command, when not where the install method puts it.
# @param user
#   The system user the broker runs as.
# @param group
#   Its group: it may read the configuration folder and the TLS copies.
# @param manage_user
#   Create the user (home: `state_dir`, no login shell) and the group.
# @param config_dir
#   Holds `exportfact.yaml` and the TLS copies (`ssl/`).
# @param state_dir
#   The broker's working folder: embedded store, keyring, signing keys (systemd's
#   `StateDirectory` when under `/var/lib`).
# @param unit_dir
#   Where `exportfact.service` is written.
# @param ssldir
#   The node's Puppet ssldir the TLS files come from. The default is the `ssldir` setting
#   where the catalog is compiled: set it when the agent's differs (Debian's packages use
#   `/var/lib/puppet/ssl`, Puppet's own `/etc/puppetlabs/puppet/ssl`).
# @param certname
#   The certificate the broker presents (its name is what agents connect to).
# @param ca_file
#   CA bundle, instead of `<ssldir>/certs/ca.pem`.
# @param crl_file
#   CRLs, instead of `<ssldir>/crl.pem`.
# @param cert_file
#   The broker's certificate, instead of `<ssldir>/certs/<certname>.pem`.
# @param key_file
#   Its private key, instead of `<ssldir>/private_keys/<certname>.pem`.
# @param copy_tls
#   Copy the four TLS files into `<config_dir>/ssl` (see above). With `false` the broker reads
#   them where they are, and making them readable to its user is yours to do.
# @param crl_url
#   The Puppet CA's CRL, polled so that revocations arrive within seconds; `false` for none.
#   Default: the CA of this Puppet (`ca_server`, `ca_port` settings).
# @param listen
#   The agent port (`HOST:PORT`).
# @param admin_listen
#   The admin port: keep it on loopback.
# @param database_url
#   PostgreSQL (no password in it); without it the embedded store in `data_dir` is used.
# @param data_dir
#   The embedded store's folder.
# @param keyring
#   The keyring file (secrets' encryption keys), created by the broker at its first start.
# @param audit_key
#   The audit chain's signing key, created by the broker.
# @param admin_signing_key
#   The admin token key, created by the broker (`exportfact admin token --create-key`).
# @param policy
#   An access policy file (docs/policy.md), not managed here.
# @param default_environment
#   Environment of certificates without `pp_environment` (broker default: `production`).
# @param admin_certnames
#   Certnames of admin certificates.
# @param log_level
#   `error`, `warn`, `info` (broker default) or `debug`.
# @param options
#   More options of `exportfact serve` by their long names; not those the parameters above write.
# @param manage_service
#   Manage the `exportfact` service (enable, run, restart on changes). With `false` only the
#   unit file is written.
# @param service_ensure
#   `running` or `stopped`.
# @param service_enable
#   Start it at boot.
#
# @example Broker on the Puppet server: its certificate (SAN `puppet` and the server's name), embedded store
#   # Agents find it with exportfact::agent's default URL, https://<Puppet server>:8150.
#   class { 'exportfact::server':
#     npm_tarball => '/srv/exportfact/exportfact-0.2.0.tgz',
#   }
# @example Broker on its own node, with the node's agent certificate, on PostgreSQL
#   # Agents: exportfact::agent::urls => ['https://<this node's certname>:8150']
#   class { 'exportfact::server':
#     npm_tarball     => 'https://artifacts.example.com/exportfact/exportfact-0.2.0.tgz',
#     database_url    => 'postgres://exportfact@db.example.com:5432/exportfact',
#     admin_certnames => ['ops1.example.com'],
#   }
# @example Broker under a service name: a certificate made by `puppetserver ca generate --certname exportfact.example.com`
#   # The two files placed on the node by you (the key never goes through Puppet); the class copies them.
#   class { 'exportfact::server':
#     npm_tarball => '/srv/exportfact/exportfact-0.2.0.tgz',
#     certname    => 'exportfact.example.com',
#     cert_file   => '/root/exportfact-tls/exportfact.example.com.pem',
#     key_file    => '/root/exportfact-tls/exportfact.example.com.key.pem',
#   }
# @example From a system package, with the service left to you
#   class { 'exportfact::server':
#     package_name   => 'exportfact',
#     manage_service => false,
#   }
class exportfact::server (
  Optional[Exportfact::NpmTarball] $npm_tarball = undef,
  Optional[Pattern[/\A[a-z0-9][a-z0-9+.-]*\z/]] $package_name = undef,
  String[1] $package_ensure = 'installed',
  Variant[Exportfact::ServerPath, Pattern[/\A[a-z0-9][a-z0-9._-]*\z/]] $npm_command = 'npm',
  Array[Pattern[/\A--[a-z][a-z0-9-]*(=\S+)?\z/]] $npm_install_options = ['--ignore-scripts', '--no-audit', '--no-fund'],
  Exportfact::ServerPath $install_prefix = '/usr/local',
  Exportfact::ServerPath $download_dir = '/var/cache/exportfact',
  Optional[Exportfact::ServerPath] $command = undef,
  Exportfact::Account $user = 'exportfact',
  Exportfact::Account $group = 'exportfact',
  Boolean $manage_user = true,
  Exportfact::ServerPath $config_dir = '/etc/exportfact',
  Exportfact::ServerPath $state_dir = '/var/lib/exportfact',
  Exportfact::ServerPath $unit_dir = '/etc/systemd/system',
  Exportfact::ServerPath $ssldir = $settings::ssldir,
  Exportfact::Certname $certname = $trusted['certname'],
  Optional[Exportfact::ServerPath] $ca_file = undef,
  Optional[Exportfact::ServerPath] $crl_file = undef,
  Optional[Exportfact::ServerPath] $cert_file = undef,
  Optional[Exportfact::ServerPath] $key_file = undef,
  Boolean $copy_tls = true,
  Variant[Exportfact::HttpsUrl, Boolean[false]] $crl_url =
    "https://${settings::ca_server}:${settings::ca_port}/puppet-ca/v1/certificate_revocation_list/ca",
  Exportfact::ListenAddress $listen = '0.0.0.0:8150',
  Exportfact::ListenAddress $admin_listen = '127.0.0.1:8151',
  Optional[Exportfact::DatabaseUrl] $database_url = undef,
  Exportfact::ServerPath $data_dir = "${state_dir}/data",
  Exportfact::ServerPath $keyring = "${state_dir}/keyring.json",
  Exportfact::ServerPath $audit_key = "${state_dir}/audit-signing.key",
  Exportfact::ServerPath $admin_signing_key = "${state_dir}/admin-token.key",
  Optional[Exportfact::ServerPath] $policy = undef,
  Optional[Pattern[/\A[A-Za-z0-9_]{1,64}\z/]] $default_environment = undef,
  Optional[Array[Exportfact::Certname, 1]] $admin_certnames = undef,
  Optional[Enum['error', 'warn', 'info', 'debug']] $log_level = undef,
  Exportfact::ServeOptions $options = {},
  Boolean $manage_service = true,
  Enum['running', 'stopped'] $service_ensure = 'running',
  Boolean $service_enable = true,
) {
  if ($npm_tarball =~ Undef) == ($package_name =~ Undef) {
    fail('exportfact::server: give npm_tarball (an npm pack tarball) or package_name (a system package), exactly one of them')
  }
  # The keys the parameters above own: `options` may not set them a second way.
  $owned = ['config', 'ssldir', 'certname', 'ca', 'crl', 'cert', 'key', 'crl-url', 'listen', 'admin-listen', 'data-dir',
    'database-url', 'keyring', 'audit-key', 'admin-signing-key', 'policy', 'default-environment', 'admin-certname',
    'log-level', 'log-format', 'dev-ca']
  $clashes = $options.keys.filter |$key| { $key in $owned }
  unless $clashes.empty {
    fail("exportfact::server: options ${clashes.join(', ')}: set by the class parameters of the same name, not in options")
  }

  $bin = $command.lest || { $npm_tarball ? { undef => '/usr/bin/exportfact', default => "${install_prefix}/bin/exportfact" } }
  $config_file = "${config_dir}/exportfact.yaml"
  $unit_file = "${unit_dir}/exportfact.service"

  contain exportfact::server::install
  contain exportfact::server::tls

  if $manage_user {
    group { $group:
      ensure => present,
      system => true,
    }
    user { $user:
      ensure     => present,
      system     => true,
      gid        => $group,
      home       => $state_dir,
      managehome => false,
      shell      => '/usr/sbin/nologin',
      comment    => 'exportfact broker',
    }
  }

  file { $config_dir:
    ensure => directory,
    owner  => 'root',
    group  => $group,
    mode   => '0750',
  }
  file { $state_dir:
    ensure => directory,
    owner  => $user,
    group  => $group,
    mode   => '0700',
  }

  # Key material is made by the broker, never by the catalog: only owner and mode are kept,
  # of the files that exist (a file resource without `ensure` creates nothing).
  [$keyring, $audit_key, $admin_signing_key].each |$key| {
    file { $key:
      owner  => $user,
      group  => $group,
      mode   => '0600',
      backup => false,
    }
  }

  $store = $database_url ? {
    undef   => { 'data-dir' => $data_dir },
    default => { 'database-url' => $database_url },
  }
  $written = ($exportfact::server::tls::settings + {
    'crl-url'      => $crl_url ? { false => undef, default => $crl_url },
    'listen'       => $listen,
    'admin-listen' => $admin_listen,
  } + $store + {
    'keyring'             => $keyring,
    'audit-key'           => $audit_key,
    'admin-signing-key'   => $admin_signing_key,
    'policy'              => $policy,
    'default-environment' => $default_environment,
    'admin-certname'      => $admin_certnames,
    'log-level'           => $log_level,
  } + $options).filter |$setting, $value| { $value =~ NotUndef }

  file { $config_file:
    ensure       => file,
    owner        => 'root',
    group        => $group,
    mode         => '0640',
    content      => epp('exportfact/server.yaml.epp', { 'settings' => $written }),
    # The broker's own parser judges the file (unknown keys, bad values) before it replaces the old one.
    validate_cmd => "${bin} config check %",
    require      => Class['exportfact::server::install'],
  }

  # Folders the broker writes: ProtectSystem=strict makes everything else read-only. A state
  # folder /var/lib/<name> is systemd's StateDirectory (created, owned and writable); another
  # state folder, and the folders of files kept outside it, are named in ReadWritePaths.
  $state_directory = $state_dir ? { /\A\/var\/lib\/([^\/]+)\z/ => $1, default => undef }
  $config_directory = $config_dir ? { /\A\/etc\/([^\/]+)\z/ => $1, default => undef }
  $written_dirs = ($database_url ? { undef => [$data_dir], default => [] })
    + [$keyring, $audit_key, $admin_signing_key].map |$file| { $file.regsubst(/\/[^\/]*\z/, '') }
  $outside_state = $written_dirs.unique.filter |$dir| { $dir != $state_dir and $dir[0, length($state_dir) + 1] != "${state_dir}/" }
  $read_write = ($state_directory ? { undef => [$state_dir], default => [] }) + $outside_state
  $unit = {
    'command'          => $bin,
    'config_file'      => $config_file,
    'user'             => $user,
    'group'            => $group,
    'state_dir'        => $state_dir,
    'state_directory'  => $state_directory,
    'config_directory' => $config_directory,
    'read_write'       => $read_write,
    'documentation'    => $npm_tarball.then |$_tarball| { "${install_prefix}/lib/node_modules/exportfact/README.md" },
  }
  file { $unit_file:
    ensure  => file,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('exportfact/exportfact.service.epp', $unit),
  }

  if $manage_service {
    service { 'exportfact':
      ensure    => $service_ensure,
      enable    => $service_enable,
      provider  => 'systemd',
      # Not the CRL: the broker watches that file itself and reloads it without a restart.
      subscribe => [Class['exportfact::server::install'], File[$config_file], File[$unit_file]]
        + $exportfact::server::tls::restart_on.map |$file| { File[$file] },
    }
  }
}
