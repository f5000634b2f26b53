# @summary Database node: creates the databases, then publishes their URLs.
class kickstack::role::database {
  include kickstack
  $fqdn = $trusted['certname']

  file { "${kickstack::root}/mysql.cnf":
    ensure  => file,
    content => "[mysqld]\nbind-address = 0.0.0.0\n",
  }
  -> file { ["${kickstack::root}/db_keystone", "${kickstack::root}/db_nova"]:
    ensure => directory,
  }
  # Published only once the databases exist.
  -> exportfact_fact {
    'db.keystone_url': value => "mysql://${fqdn}/keystone";
    'db.nova_url':     value => "mysql://${fqdn}/nova";
  }
}
