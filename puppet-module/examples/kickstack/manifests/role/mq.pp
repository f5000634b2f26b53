# @summary Message-queue node (one of several): runs `kickstack::rpc_backend` and publishes it, per node.
#
# Switching `kickstack::rpc_backend` replaces the facts: `<old>.host` is no longer declared
# and is withdrawn at the end of the run, `<new>.host` is published; dependents reconfigure
# in their next run.
class kickstack::role::mq {
  include kickstack
  $backend = $kickstack::rpc_backend

  file { "${kickstack::root}/${backend}.conf":
    ensure  => file,
    content => "listen = ${trusted['certname']}\n",
  }
  -> exportfact_fact {
    "${backend}.host": value => $trusted['certname'], multi => true;
    'mq.rpc_backend':  value => $backend, multi => true;
  }
}
