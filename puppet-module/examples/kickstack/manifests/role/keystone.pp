# @summary Keystone node: stays empty until a database and a message queue are known.
class kickstack::role::keystone {
  include kickstack
  $mq = kickstack::mq_requirement()

  if exportfact::gate('kickstack::role::keystone', ['db.keystone_url', $mq]) {
    $backend = kickstack::rpc_backend()
    file { "${kickstack::root}/keystone.conf":
      ensure  => file,
      content => epp('kickstack/service.conf.epp', {
          'database'  => exportfact::value('db.keystone_url'),
          'backend'   => $backend,
          'mq_hosts'  => exportfact::value("${backend}.host").values.sort,
          'upstreams' => {},
      }),
    }
    -> exportfact_fact { 'keystone.url':
      value => "http://${trusted['certname']}:5000/v3",
    }
  }
}
