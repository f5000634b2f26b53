# frozen_string_literal: true

# What a node's exportfact facts look like: single, per-node and secret facts (for the
# function specs).
module ExportfactSpec
  VIEW_FACTS = {
    'exportfact' => {
      'db' => { 'keystone_url' => 'mysql://db1/keystone', 'settings' => { 'a' => 1 } },
      'rabbitmq' => { 'host' => { 'mq1.example.test' => '10.0.0.5', 'mq2.example.test' => '10.0.0.6' } },
      'qpid' => { 'host' => {} },
    },
    'exportfact_secrets' => { 'db' => { 'password' => 3 } },
    'exportfact_status' => { 'source' => 'broker', 'per_node' => ['qpid.host', 'rabbitmq.host'] },
  }.freeze
end
