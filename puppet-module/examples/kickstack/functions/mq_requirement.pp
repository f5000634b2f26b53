# @summary The gate requirement for a message queue: `<backend>.host`, or `mq.rpc_backend` while none is known.
# @return [String]
function kickstack::mq_requirement() >> String {
  $backend = kickstack::rpc_backend()
  $backend ? {
    undef   => 'mq.rpc_backend',
    default => "${backend}.host",
  }
}
