# @summary Settings shared by the Kickstack example roles.
#
# @param root
#   Where the example "installs" its services (configuration files only).
# @param rpc_backend
#   The message queue the `mq` role runs; dependents follow what the queue nodes publish.
class kickstack (
  String[1] $root = '/srv/kickstack',
  Enum['rabbitmq', 'qpid', 'zeromq'] $rpc_backend = 'rabbitmq',
) {
  include exportfact

  file { $root:
    ensure => directory,
  }
}
