# @summary Compute node: installs nothing until a Nova API and a message queue exist.
class kickstack::role::compute {
  include kickstack
  $mq = kickstack::mq_requirement()

  if exportfact::gate('kickstack::role::compute', ['nova.api_url', $mq]) {
    $backend = kickstack::rpc_backend()
    file { "${kickstack::root}/nova-compute.conf":
      ensure  => file,
      content => epp('kickstack/service.conf.epp', {
          'database'  => undef,
          'backend'   => $backend,
          'mq_hosts'  => exportfact::value("${backend}.host").values.sort,
          'upstreams' => { 'nova_api' => exportfact::value('nova.api_url') },
      }),
    }
  }
}
