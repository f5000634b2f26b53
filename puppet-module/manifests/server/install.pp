# @summary Installs the broker for `exportfact::server`: from its npm tarball, or a system package.
#
# npm: the tarball is first kept in `download_dir` (copied on the node, or downloaded from its
# https:// URL), then installed with `npm install --global --prefix`. A copy of what was last
# installed sits beside it: when the two differ (a new tarball), or the command is missing,
# npm installs again; otherwise nothing runs.
#
# @api private
class exportfact::server::install {
  $tarball = $exportfact::server::npm_tarball
  $bin = $exportfact::server::bin

  if $tarball =~ Undef {
    package { $exportfact::server::package_name:
      ensure => $exportfact::server::package_ensure,
    }
  } else {
    $download_dir = $exportfact::server::download_dir
    $kept = "${download_dir}/exportfact.tgz"
    $installed = "${download_dir}/installed.tgz"
    file { $download_dir:
      ensure => directory,
      owner  => 'root',
      group  => 'root',
      mode   => '0755',
    }
    file { $kept:
      ensure => file,
      source => $tarball,
      links  => follow,
      owner  => 'root',
      group  => 'root',
      mode   => '0644',
      backup => false,
    }
    exec { 'exportfact: npm install':
      command => [$exportfact::server::npm_command, 'install', '--global', '--prefix', $exportfact::server::install_prefix]
        + $exportfact::server::npm_install_options + [$kept],
      unless  => [['/bin/sh', '-c', 'cmp -s "$1" "$2" && test -x "$3"', 'sh', $kept, $installed, $bin]],
      path    => ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'],
      cwd     => $download_dir,
      timeout => 900,
      require => File[$kept],
    }
    -> file { $installed:
      ensure => file,
      source => $kept,
      owner  => 'root',
      group  => 'root',
      mode   => '0644',
      backup => false,
    }
  }
}
