# Kickstack-like example deployment: assign roles, and exportfact enforces the order of
# deployment across nodes. Each node's roles come from Hiera (`kickstack::roles`, like an
# ENC would give them), several roles may share one node.
#
#   puppet apply --modulepath <dir with exportfact>:<this examples dir> examples/site.pp
#
# Roles and what they wait for (depth = agent runs to converge in the worst order):
#   database  (1)  publishes db.keystone_url, db.nova_url
#   mq        (1)  on two nodes; publishes mq.rpc_backend and <backend>.host per node
#   keystone  (2)  waits for db.keystone_url and a message queue; publishes keystone.url
#   nova_api  (3)  waits for db.nova_url, keystone.url and a message queue; publishes nova.api_url
#   compute   (4)  waits for nova.api_url and a message queue
node default {
  include kickstack
  lookup('kickstack::roles', Array[Enum['database', 'mq', 'keystone', 'nova_api', 'compute']], 'unique', []).each |$role| {
    include "kickstack::role::${role}"
  }
}
