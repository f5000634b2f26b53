# @summary The message queue the queue nodes run, as they publish it (`mq.rpc_backend`).
#
# The backend most queue nodes report; a tie (in the middle of a switch) goes to the
# first name in sort order, so dependents keep one answer and never close their gates.
# @return [Optional[String]] undef while no queue node has published.
function kickstack::rpc_backend() >> Optional[String] {
  $reported = exportfact::value('mq.rpc_backend', {}).values
  $counts = $reported.unique.sort.map |$b| { [$b, $reported.filter |$x| { $x == $b }.length] }
  $best = $counts.reduce(undef) |$memo, $pair| {
    ($memo =~ Undef or $pair[1] > $memo[1]) ? { true => $pair, default => $memo }
  }
  $best ? { undef => undef, default => $best[0] }
}
