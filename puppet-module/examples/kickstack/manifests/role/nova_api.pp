# @summary Nova API node: waits for its database, Keystone and a message queue.
class kickstack::role::nova_api {
  include kickstack
  $mq = kickstack::mq_requirement()

  if exportfact::gate('kickstack::role::nova_api', ['db.nova_url', 'keystone.url', $mq]) {
    $backend = kickstack::rpc_backend()
    file { "${kickstack::root}/nova-api.conf":
      ensure  => file,
      content => epp('kickstack/service.conf.epp', {
          'database'  => exportfact::value('db.nova_url'),
          'backend'   => $backend,
          'mq_hosts'  => exportfact::value("${backend}.host").values.sort,
          'upstreams' => { 'keystone' => exportfact::value('keystone.url') },
      }),
    }
    -> exportfact_fact { 'nova.api_url':
      value => "http://${trusted['certname']}:8774/v2.1",
    }
  }
}
