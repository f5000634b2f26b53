# @summary Runs `exportfact-trigger` on the node: one Puppet run as soon as the broker has what a closed gate of the node waits for.
#
# A role gated on facts of other nodes (`exportfact::gate`) opens in the node's first run
# after those facts were published; with agents running every 30 minutes, each hop of a
# deployment costs up to an interval. `exportfact-trigger` (a Ruby program of this module, run
# with Puppet's Ruby and the node's own Puppet certificate) removes that wait: it holds a
# watch on the broker (`GET /v1/facts?wait=`), reads what this node's closed gates miss
# (`GET /v1/gates`) and, when the node's view now holds all of it for some gate, runs
# `command` once. Rules: one run at a time (it waits for its command, and starts none while
# Puppet's agent run lock `agent_catalog_run.lock` is held by a live run), nothing while the
# agent is disabled (`puppet agent --disable`), at most one triggered run per `min_interval`
# seconds, at most one per view of the broker (a gate a run could not open waits for the next
# change). A node without closed gates only holds one watch request. When the broker cannot
# be reached it retries after a delay doubling up to a minute.
#
# The class installs the program (`script`), its settings (`config_file`) and a systemd unit
# `exportfact-trigger.service`, and runs it. The unit stops only the trigger
# (`KillMode=process`): a Puppet run it started, which may be the run that restarts it, is
# left to finish. The broker is found as the agent finds it (`exportfact.yaml`, see
# `exportfact::agent`).
#
# @param ensure
#   `present`, or `absent` to stop the service and remove the files.
# @param command
#   One run, by `/bin/sh`. The default suits nodes run by the agent daemon (the agent takes
#   the run lock itself); nodes run by `puppet apply` give their `puppet apply` line here
#   (`puppet apply` takes no lock: the trigger never overlaps its own runs, but does not see a
#   `puppet apply` started by something else).
# @param min_interval
#   Seconds between the starts of two triggered runs (0: no limit beyond one at a time).
# @param wait
#   Seconds the broker holds one watch request (1 to 300). After a run that took no lock
#   (`puppet apply`), the trigger reads the node's gates again within this time even when
#   nothing changed on the broker (during a locked run, every 5 seconds).
# @param ruby
#   Puppet's Ruby. Default: `/opt/puppetlabs/puppet/bin/ruby` with Puppet's own packages,
#   `/usr/bin/ruby` with the operating system's.
# @param confdir
#   Puppet's confdir on the node (`puppet.conf`, `exportfact.yaml`). Default: where the node's
#   `exportfact.yaml` is (the `exportfact_status` fact), else the confdir of the compiling Puppet.
# @param libdir
#   Where the module's `lib` is on the node. Default: Puppet's libdir (where pluginsync puts
#   it) in agent mode; this module's own folder with `puppet apply`.
# @param script
#   Where the program is installed.
# @param config_file
#   Its settings (`command`, `min_interval`, `wait`). Default: `exportfact_trigger.yaml` in `confdir`.
# @param unit_dir
#   Where `exportfact-trigger.service` is written.
# @param manage_service
#   Run the service (enable, start, restart when the program, its settings or the unit change).
#   With `false` only the files are written.
#
# @example On every node run by the agent daemon (Hiera: `include exportfact::trigger` beside `exportfact::agent`)
#   include exportfact::agent
#   include exportfact::trigger
# @example A node run by `puppet apply`, at most one triggered run every two minutes
#   class { 'exportfact::trigger':
#     command      => 'puppet apply /etc/puppetlabs/code/environments/production/manifests/site.pp',
#     min_interval => 120,
#   }
class exportfact::trigger (
  Enum['present', 'absent'] $ensure = 'present',
  Pattern[/\A[^\n\r]*\S[^\n\r]*\z/] $command = 'puppet agent --onetime --no-daemonize',
  Integer[0] $min_interval = 60,
  Integer[1, 300] $wait = 60,
  Optional[Exportfact::AbsolutePath] $ruby = undef,
  Optional[Exportfact::AbsolutePath] $confdir = undef,
  Optional[Exportfact::AbsolutePath] $libdir = undef,
  Exportfact::AbsolutePath $script = '/usr/local/sbin/exportfact-trigger',
  Optional[Exportfact::AbsolutePath] $config_file = undef,
  Exportfact::AbsolutePath $unit_dir = '/etc/systemd/system',
  Boolean $manage_service = true,
) {
  $node_confdir = $confdir.lest || {
    $facts.dig('exportfact_status', 'config_file').then |$file| { $file.regsubst(/\/[^\/]*\z/, '') }.lest || { $settings::confdir }
  }
  $settings_file = $config_file.lest || { "${node_confdir}/exportfact_trigger.yaml" }
  $puppet_ruby = $ruby.lest || {
    $facts.dig('ruby', 'sitedir') ? {
      /\A\/opt\/puppetlabs\// => '/opt/puppetlabs/puppet/bin/ruby',
      default                 => '/usr/bin/ruby',
    }
  }
  # With `puppet apply` the catalog is compiled on the node: this module's folder is there.
  # In agent mode it is the server's, and pluginsync put lib/ in the node's libdir.
  $module_lib = $libdir.lest || {
    $trusted['authenticated'] ? { 'local' => "${module_directory('exportfact')}/lib", default => undef }
  }
  $unit_file = "${unit_dir}/exportfact-trigger.service"
  # ExecStart's words, each quoted (paths may hold spaces, never `"` or `\`), systemd's
  # specifier sign `%` and variable sign `$` doubled so that they are taken as they are.
  $words = [$puppet_ruby, $script, '--confdir', $node_confdir, '--config', $settings_file]
    + $module_lib.then |$dir| { ['--libdir', $dir] }.lest || { [] }
  $exec_start = $words.map |$word| { "\"${word.regsubst('%', '%%', 'G').regsubst('\$', '$$', 'G')}\"" }.join(' ')
  $file_ensure = $ensure ? { 'present' => 'file', default => 'absent' }

  if $manage_service and $ensure == 'absent' {
    service { 'exportfact-trigger':
      ensure   => stopped,
      enable   => false,
      provider => 'systemd',
      before   => File[$unit_file],
    }
  }

  file { $script:
    ensure => $file_ensure,
    owner  => 'root',
    group  => 'root',
    mode   => '0755',
    source => 'puppet:///modules/exportfact/exportfact-trigger',
  }
  file { $settings_file:
    ensure  => $file_ensure,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('exportfact/exportfact_trigger.yaml.epp', {
        'command'      => $command,
        'min_interval' => $min_interval,
        'wait'         => $wait,
    }),
  }
  file { $unit_file:
    ensure  => $file_ensure,
    owner   => 'root',
    group   => 'root',
    mode    => '0644',
    content => epp('exportfact/exportfact-trigger.service.epp', { 'exec_start' => $exec_start }),
  }

  if $manage_service and $ensure == 'present' {
    service { 'exportfact-trigger':
      ensure    => running,
      enable    => true,
      provider  => 'systemd',
      subscribe => [File[$script], File[$settings_file], File[$unit_file]],
    }
  }
}
