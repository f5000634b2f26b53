#!/usr/bin/env bash
# A real puppetserver (Debian's package) without systemd: installs it if missing, configures
# it, starts its JVM, waits until it answers, and stops it again.
#
#   scripts/puppetserver.sh setup [DIR] [--port N]   install if missing, write the configuration, create the CA
#   scripts/puppetserver.sh start [DIR] [--port N]   setup if not done yet, start the JVM, wait until ready
#   scripts/puppetserver.sh stop  [DIR]              stop the JVM started by `start` (TERM, then KILL)
#   scripts/puppetserver.sh info  [DIR]              print where things are (the lines `start` prints)
#   --puppetdb URL (with DIR, to setup/start): storeconfigs on PuppetDB at URL (scripts/puppetdb.sh),
#                  so exported resources, facts and catalogs go there (needs puppet-terminus-puppetdb)
#
# With DIR, everything lives under DIR and the server runs as the calling user (root in CI):
#   DIR/etc/puppet.conf   the server's confdir (certname localhost, autosign = true)
#   DIR/code              codedir: DIR/code/environments/production
#   DIR/ssl               the server's ssldir: certs/ca.pem (root + intermediate), crl.pem (two CRLs)
#   DIR/ca                the CA (cadir)
#   DIR/server            puppetserver's conf.d and services.d; DIR/server.out its output; DIR/log its logs
# and `puppetserver ca ... --config DIR/etc/puppet.conf` manages its CA. Nothing outside DIR
# is written (except the package install). The port defaults to 8140; pick a free one so
# several servers can coexist on one machine.
#
# Without DIR, the Debian default paths are used as in shared/notes/real-puppetserver.md:
# /etc/puppet/puppet.conf (written only if it has no certname yet; the original is kept as
# puppet.conf.orig), /var/lib/puppet/ssl, /etc/puppet/code, the JVM runs as user `puppet`,
# and it listens on the port of /etc/puppet/puppetserver/conf.d/webserver.conf (8140).
#
# `start` prints, one per line: ssldir=, cadir=, confdir=, codedir=, port=, pid=, log=.
# It exits non-zero (with the tail of the server's output) when the server cannot start.
# Memory: ~1.1-1.3 GB (-Xmx1g; JAVA_ARGS of /etc/default/puppetserver without DIR, C1-only
# JIT and serial GC with DIR; PUPPETSERVER_JAVA_ARGS replaces either); start-up ~40-70 s. PUPPETSERVER_START_TIMEOUT (s, default 240) bounds the wait.
set -euo pipefail

cmd="${1:-}"; shift || true
dir=""
port=""
puppetdb=""
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --port=*) port="${1#--port=}"; shift ;;
    --puppetdb) puppetdb="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    -*) echo "puppetserver.sh: unknown option $1" >&2; exit 2 ;;
    *) dir="$1"; shift ;;
  esac
done
[ -n "$dir" ] && dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"

die() { echo "puppetserver.sh: $*" >&2; exit 1; }

ensure_installed() {
  if [ ! -r /usr/share/puppetserver/puppetserver.jar ] || [ ! -r /etc/default/puppetserver ]; then
    [ "$(id -u)" = 0 ] || die "puppetserver is not installed and installing it needs root"
    echo "puppetserver.sh: installing puppetserver" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    apt-get install -y -qq puppetserver >&2 || die "apt-get install puppetserver failed"
  fi
  [ -r /usr/share/puppetserver/puppetserver.jar ] || die "puppetserver.jar missing after install"
}

# Paths of the two layouts.
if [ -n "$dir" ]; then
  confdir="$dir/etc"; codedir="$dir/code"; ssldir="$dir/ssl"; cadir="$dir/ca"
  vardir="$dir/var"; rundir="$dir/run"; logdir="$dir/log"
  tkconf="$dir/server/conf.d"; tkboot="$dir/server/services.d"
  out="$dir/server.out"; pidfile="$dir/server.pid"; restart="$rundir/restart"
  port="${port:-$( [ -r "$dir/port" ] && cat "$dir/port" || echo 8140)}"
  runas=""
else
  confdir=/etc/puppet; codedir=/etc/puppet/code; ssldir=/var/lib/puppet/ssl; cadir=/etc/puppet/puppetserver/ca
  vardir=/var/lib/puppetserver; rundir=/run/puppetserver; logdir=/var/log/puppetserver
  tkconf=/etc/puppet/puppetserver/conf.d; tkboot=/etc/puppet/puppetserver/services.d
  out=/tmp/puppetserver.out; pidfile=/run/puppetserver/puppetserver.pid; restart="$rundir/restart"
  runas="puppet"
fi

print_info() {
  echo "ssldir=$ssldir"
  echo "cadir=$cadir"
  echo "confdir=$confdir"
  echo "codedir=$codedir"
  echo "port=${port:-$(sed -n 's/^ *ssl-port: *//p' "$tkconf/webserver.conf" 2>/dev/null | head -1)}"
  [ -r "$pidfile" ] && echo "pid=$(cat "$pidfile")"
  echo "log=$out"
}

setup_dir() {
  # The configuration is (re)written every time; the CA is created once.
  mkdir -p "$confdir" "$codedir/environments/production/manifests" "$codedir/environments/production/modules" \
    "$vardir" "$rundir" "$logdir" "$tkconf" "$tkboot"
  echo "$port" > "$dir/port"
  cat > "$confdir/puppet.conf" <<EOF
[main]
certname = localhost
server = localhost
serverport = $port
dns_alt_names = localhost,puppet
confdir = $confdir
codedir = $codedir
ssldir = $ssldir
vardir = $vardir
rundir = $rundir
logdir = $logdir
publicdir = $vardir/public
[server]
cadir = $cadir
autosign = true
EOF
  if [ -n "$puppetdb" ]; then
    [ -r /usr/lib/ruby/vendor_ruby/puppet/indirector/catalog/puppetdb.rb ] || die "--puppetdb needs puppet-terminus-puppetdb"
    printf 'storeconfigs = true\nstoreconfigs_backend = puppetdb\n' >> "$confdir/puppet.conf"
    printf '[main]\nserver_urls = %s\nsoft_write_failure = false\n' "$puppetdb" > "$confdir/puppetdb.conf"
  else
    rm -f "$confdir/puppetdb.conf"
  fi
  cat > "$codedir/environments/production/environment.conf" <<EOF
environment_timeout = 0
EOF
  cp /etc/puppet/puppetserver/conf.d/*.conf "$tkconf/"
  cp /etc/puppet/puppetserver/services.d/* "$tkboot/"
  sed -e "s#/var/log/puppetserver#$logdir#g" /etc/puppet/puppetserver/logback.xml > "$dir/server/logback.xml"
  sed -e "s#/var/log/puppetserver#$logdir#g" /etc/puppet/puppetserver/request-logging.xml > "$dir/server/request-logging.xml"
  cat > "$tkconf/global.conf" <<EOF
global: {
    logging-config: $dir/server/logback.xml
}
EOF
  cat > "$tkconf/webserver.conf" <<EOF
webserver: {
    access-log-config: $dir/server/request-logging.xml
    client-auth: want
    ssl-host: 127.0.0.1
    ssl-port: $port
}
EOF
  # One JRuby instance (2 cores here) keeps start-up time and memory down.
  cat > "$tkconf/puppetserver.conf" <<EOF
jruby-puppet: {
    ruby-load-path: [/usr/lib/puppetserver/ruby/vendor_ruby]
    gem-home: /var/lib/puppetserver/jruby-gems
    gem-path: [\${jruby-puppet.gem-home}, "/usr/lib/puppetserver/vendored-jruby-gems"]
    server-conf-dir: $confdir
    server-code-dir: $codedir
    server-var-dir: $vardir
    server-run-dir: $rundir
    server-log-dir: $logdir
    max-active-instances: 1
}
http-client: {
}
profiler: {
}
EOF
  if [ ! -r "$ssldir/certs/ca.pem" ] || [ ! -r "$cadir/ca_crt.pem" ]; then
    rm -rf "$ssldir" "$cadir"
    puppetserver ca setup --config "$confdir/puppet.conf" --certname localhost --subject-alt-names localhost,puppet >&2 \
      || die "puppetserver ca setup failed"
  fi
}

setup_default() {
  if ! grep -qs '^ *certname' /etc/puppet/puppet.conf; then
    [ -e /etc/puppet/puppet.conf.orig ] || cp -p /etc/puppet/puppet.conf /etc/puppet/puppet.conf.orig 2>/dev/null || true
    cat > /etc/puppet/puppet.conf <<EOF
[main]
certname = localhost
server = localhost
dns_alt_names = localhost,puppet
[server]
autosign = true
EOF
  fi
  if [ ! -r "$ssldir/certs/ca.pem" ]; then
    puppetserver ca setup --certname localhost --subject-alt-names localhost,puppet >&2 || die "puppetserver ca setup failed"
  fi
  chown -R puppet:puppet /etc/puppet/puppetserver/ca /var/lib/puppet/ssl
  mkdir -p "$rundir" "$logdir" && chown puppet: "$rundir" "$logdir"
}

do_setup() {
  ensure_installed
  if [ -n "$dir" ]; then setup_dir; else setup_default; fi
}

running_pid() {
  local pid
  [ -r "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -qs puppetserver.jar "/proc/$pid/cmdline" || return 1
  echo "$pid"
}

do_start() {
  if pid="$(running_pid)"; then echo "puppetserver.sh: already running (pid $pid)" >&2; print_info; return 0; fi
  do_setup
  set -a; . /etc/default/puppetserver; set +a
  # A throw-away server (DIR) starts faster with the C1 compiler only and the serial GC.
  [ -n "$dir" ] && JAVA_ARGS="-Xms512m -Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djruby.logger.class=com.puppetlabs.jruby_utils.jruby.Slf4jLogger"
  JAVA_ARGS="${PUPPETSERVER_JAVA_ARGS:-$JAVA_ARGS}"
  mkdir -p "$rundir"
  if [ -n "$runas" ]; then
    runuser -u "$runas" -- sh -c "echo -n 0 > '$restart'"
  else
    echo -n 0 > "$restart"
  fi
  # shellcheck disable=SC2086
  local java=(/usr/bin/java $JAVA_ARGS -Djruby.lib=/usr/share/jruby/lib -jar /usr/share/puppetserver/puppetserver.jar
    --config "$tkconf" --bootstrap-config "$tkboot" --restart-file "$restart" $TK_ARGS)
  (
    cd /tmp && umask 027
    if [ -n "$runas" ]; then
      exec setsid runuser -u "$runas" -- "${java[@]}" > "$out" 2>&1 < /dev/null
    else
      exec setsid "${java[@]}" > "$out" 2>&1 < /dev/null
    fi
  ) &
  local launcher=$!
  # runuser keeps a parent process; record the JVM itself.
  local jpid=""
  for _ in $(seq 1 50); do
    jpid="$(pgrep -s "$(ps -o sid= -p "$launcher" 2>/dev/null | tr -d ' ' || echo 0)" -f puppetserver.jar 2>/dev/null | head -1 || true)"
    [ -n "$jpid" ] && break
    kill -0 "$launcher" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$jpid" ] || jpid="$launcher"
  echo "$jpid" > "$pidfile"
  local deadline=$(( $(date +%s) + ${PUPPETSERVER_START_TIMEOUT:-240} ))
  while :; do
    if [ "$(cat "$restart" 2>/dev/null)" = 1 ]; then break; fi
    if ! kill -0 "$jpid" 2>/dev/null; then
      tail -n 40 "$out" >&2
      die "puppetserver exited during start-up (output above, full log in $out)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 40 "$out" >&2
      kill -KILL "$jpid" 2>/dev/null || true
      die "puppetserver not ready after ${PUPPETSERVER_START_TIMEOUT:-240} s (output above, full log in $out)"
    fi
    sleep 1
  done
  print_info
}

do_stop() {
  local pid
  if ! pid="$(running_pid)"; then echo "puppetserver.sh: not running" >&2; rm -f "$pidfile"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "$cmd" in
  setup) do_setup; print_info ;;
  start) do_start ;;
  stop) do_stop ;;
  info) print_info ;;
  *) sed -n '2,30p' "$0" >&2; exit 2 ;;
esac
