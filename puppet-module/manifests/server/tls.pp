# @summary The broker's TLS files for `exportfact::server`: copies readable by its group, or the files in place.
#
# With `copy_tls` (the default) the four files are copied on the node into
# `<config_dir>/ssl`, laid out as a Puppet ssldir, and the broker reads that ssldir. The
# sources are local paths: the agent reads them from its own disk (Puppet's file serving
# picks the local `file` terminus for an absolute path), so the catalog holds the path only,
# never a key. The private key's copy keeps no filebucket backup (a `File { backup => main }`
# default would send the old key to the server's bucket) and shows no diff.
#
# @api private
class exportfact::server::tls {
  $ssldir = $exportfact::server::ssldir
  $certname = $exportfact::server::certname
  $group = $exportfact::server::group
  $given = {
    'ca'   => $exportfact::server::ca_file,
    'crl'  => $exportfact::server::crl_file,
    'cert' => $exportfact::server::cert_file,
    'key'  => $exportfact::server::key_file,
  }.filter |$kind, $file| { $file =~ NotUndef }

  if $exportfact::server::copy_tls {
    $sources = {
      'ca'   => "${ssldir}/certs/ca.pem",
      'crl'  => "${ssldir}/crl.pem",
      'cert' => "${ssldir}/certs/${certname}.pem",
      'key'  => "${ssldir}/private_keys/${certname}.pem",
    } + $given
    $copies = "${exportfact::server::config_dir}/ssl"
    file { [$copies, "${copies}/certs", "${copies}/private_keys"]:
      ensure => directory,
      owner  => 'root',
      group  => $group,
      mode   => '0750',
    }
    $public = {
      'ca'   => "${copies}/certs/ca.pem",
      'crl'  => "${copies}/crl.pem",
      'cert' => "${copies}/certs/${certname}.pem",
    }
    $public.each |$kind, $copy| {
      file { $copy:
        ensure => file,
        source => $sources[$kind],
        links  => follow,
        owner  => 'root',
        group  => $group,
        mode   => '0644',
        backup => false,
      }
    }
    file { "${copies}/private_keys/${certname}.pem":
      ensure    => file,
      source    => $sources['key'],
      links     => follow,
      owner     => 'root',
      group     => $group,
      mode      => '0640',
      backup    => false,
      show_diff => false,
    }
    $settings = { 'ssldir' => $copies, 'certname' => $certname }
    # The broker reads these at start; it watches the CRL and reloads it by itself.
    $restart_on = [$public['ca'], $public['cert'], "${copies}/private_keys/${certname}.pem"]
  } else {
    # In place: the ssldir's files, each given one instead (the broker's own override rule).
    $settings = { 'ssldir' => $ssldir, 'certname' => $certname } + $given
    $restart_on = []
  }
}
