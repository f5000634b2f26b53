#!/usr/bin/env bash
# A real PuppetDB (Debian's package, 7.x) without systemd, for tests: installs it if missing,
# configures it in one folder on the machine's PostgreSQL, starts its JVM, waits until it
# answers, and stops it again.
#
#   scripts/puppetdb.sh start DIR --ssldir SSL [--certname NAME] [--port N] [--database DB] [--allow NAMES]
#   scripts/puppetdb.sh stop  DIR [--drop-database]
#   scripts/puppetdb.sh info  DIR
#
# Everything lives under DIR and the JVM runs as the calling user (root in CI):
#   DIR/conf.d        config.ini, database.ini, jetty.ini, puppetdb.ini, auth.conf
#   DIR/bootstrap.cfg the package's services
#   DIR/var           PuppetDB's vardir (its command queue); DIR/log its log; DIR/puppetdb.out its output
#   DIR/allowlist     certnames PuppetDB answers (certificate-allowlist), one per line
# TLS only, on 127.0.0.1 (no plain-HTTP port: that one answers anyone): the certificate and key
# of NAME (default localhost) from the Puppet ssldir SSL, its certs/ca.pem as the CA. The port
# defaults to 8081. The database (default puppetdb_test) is created on PostgreSQL at
# PGHOST/PGPORT/PGUSER (default 127.0.0.1, 5432, postgres; trust auth) with pg_trgm, and
# `stop --drop-database` drops it. --allow (comma-separated, default NAME) fills the allowlist:
# a certificate of the CA that is not on it gets 403.
#
# `start` prints, one per line: url=, port=, database=, pid=, log=. It exits non-zero (with the
# tail of PuppetDB's output) when PuppetDB cannot start. Memory: ~0.5 GB; start-up ~35-70 s
# (the first start also migrates the database). PUPPETDB_START_TIMEOUT (s, default 240) bounds
# the wait; PUPPETDB_JAVA_ARGS replaces the JVM options.
set -euo pipefail

cmd="${1:-}"; shift || true
dir=""; port=""; ssldir=""; certname="localhost"; database=""; allow=""; drop=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port="$2"; shift 2 ;;
    --ssldir) ssldir="$2"; shift 2 ;;
    --certname) certname="$2"; shift 2 ;;
    --database) database="$2"; shift 2 ;;
    --allow) allow="$2"; shift 2 ;;
    --drop-database) drop=1; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "puppetdb.sh: unknown option $1" >&2; exit 2 ;;
    *) dir="$1"; shift ;;
  esac
done

die() { echo "puppetdb.sh: $*" >&2; exit 1; }
[ -n "$dir" ] || die "give the folder PuppetDB lives in (scripts/puppetdb.sh $cmd DIR …)"
dir="$(mkdir -p "$dir" && cd "$dir" && pwd)"
pidfile="$dir/puppetdb.pid"; out="$dir/puppetdb.out"; restart="$dir/run/restart"
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
# Settings of a previous `start` in DIR (stop and info need them).
[ -r "$dir/settings" ] && . "$dir/settings"
port="${port:-${saved_port:-8081}}"; database="${database:-${saved_database:-puppetdb_test}}"

ensure_installed() {
  if [ ! -r /usr/share/puppetdb/puppetdb.jar ] || [ ! -r /usr/lib/ruby/vendor_ruby/puppet/indirector/catalog/puppetdb.rb ]; then
    [ "$(id -u)" = 0 ] || die "puppetdb is not installed and installing it needs root"
    echo "puppetdb.sh: installing puppetdb and puppet-terminus-puppetdb" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || true
    # dbconfig-no-thanks: the package must not configure a database of its own on this machine.
    apt-get install -y -qq --no-install-recommends dbconfig-no-thanks puppetdb puppet-terminus-puppetdb >&2 \
      || die "apt-get install puppetdb failed"
  fi
  [ -r /usr/share/puppetdb/puppetdb.jar ] || die "puppetdb.jar missing after install"
}

print_info() {
  echo "url=https://$certname:$port"
  echo "port=$port"
  echo "database=$database"
  [ -r "$pidfile" ] && echo "pid=$(cat "$pidfile")"
  echo "log=$out"
}

setup() {
  [ -n "$ssldir" ] || die "--ssldir is required (the Puppet ssldir holding certs/ca.pem and NAME's certificate and key)"
  for f in "$ssldir/certs/ca.pem" "$ssldir/certs/$certname.pem" "$ssldir/private_keys/$certname.pem"; do
    [ -r "$f" ] || die "$f is missing or unreadable"
  done
  pg_isready -q || die "PostgreSQL at $PGHOST:$PGPORT does not answer"
  mkdir -p "$dir/conf.d" "$dir/var" "$dir/log" "$dir/run"
  printf 'saved_port=%q\nsaved_database=%q\ncertname=%q\n' "$port" "$database" "$certname" > "$dir/settings"
  if ! psql -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    createdb "$database" || die "createdb $database failed"
  fi
  psql -d "$database" -qc 'CREATE EXTENSION IF NOT EXISTS pg_trgm' >/dev/null || die "CREATE EXTENSION pg_trgm failed (postgresql-contrib?)"
  tr ',' '\n' <<< "${allow:-$certname}" > "$dir/allowlist"
  cat > "$dir/conf.d/config.ini" <<EOF
[global]
vardir = $dir/var
logging-config = $dir/logback.xml

[command-processing]
threads = 1
EOF
  cat > "$dir/conf.d/database.ini" <<EOF
[database]
subname = //$PGHOST:$PGPORT/$database
username = $PGUSER
password = unused-trust-auth
EOF
  cat > "$dir/conf.d/jetty.ini" <<EOF
[jetty]
ssl-host = 127.0.0.1
ssl-port = $port
ssl-key = $ssldir/private_keys/$certname.pem
ssl-cert = $ssldir/certs/$certname.pem
ssl-ca-cert = $ssldir/certs/ca.pem
access-log-config = $dir/request-logging.xml
EOF
  cat > "$dir/conf.d/puppetdb.ini" <<EOF
[puppetdb]
certificate-allowlist = $dir/allowlist
EOF
  cp /etc/puppetdb/conf.d/auth.conf "$dir/conf.d/auth.conf"
  cp /etc/puppetdb/bootstrap.cfg "$dir/bootstrap.cfg"
  sed -e "s#/var/log/puppetdb#$dir/log#g" /etc/puppetdb/logback.xml > "$dir/logback.xml"
  sed -e "s#/var/log/puppetdb#$dir/log#g" /etc/puppetdb/request-logging.xml > "$dir/request-logging.xml"
}

running_pid() {
  local pid
  [ -r "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  grep -qs puppetdb.jar "/proc/$pid/cmdline" || return 1
  echo "$pid"
}

do_start() {
  if pid="$(running_pid)"; then echo "puppetdb.sh: already running (pid $pid)" >&2; print_info; return 0; fi
  ensure_installed
  setup
  # A throw-away PuppetDB starts faster with the C1 compiler only and the serial GC.
  local java_args="${PUPPETDB_JAVA_ARGS:--Xms128m -Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC}"
  echo -n 0 > "$restart"
  # shellcheck disable=SC2086
  (
    cd "$dir" && umask 027
    exec setsid /usr/bin/java $java_args -Djava.security.egd=/dev/urandom -cp /usr/share/puppetdb/puppetdb.jar \
      clojure.main -m puppetlabs.puppetdb.core services --config "$dir/conf.d" --bootstrap-config "$dir/bootstrap.cfg" \
      --restart-file "$restart" > "$out" 2>&1 < /dev/null
  ) &
  local jpid=$!
  echo "$jpid" > "$pidfile"
  local deadline=$(( $(date +%s) + ${PUPPETDB_START_TIMEOUT:-240} ))
  while :; do
    if [ "$(cat "$restart" 2>/dev/null)" = 1 ]; then break; fi
    if ! kill -0 "$jpid" 2>/dev/null; then
      tail -n 40 "$out" >&2
      die "puppetdb exited during start-up (output above, full log in $out and $dir/log)"
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      tail -n 40 "$out" >&2
      kill -KILL "$jpid" 2>/dev/null || true
      die "puppetdb not ready after ${PUPPETDB_START_TIMEOUT:-240} s (output above, full log in $out)"
    fi
    sleep 1
  done
  print_info
}

do_stop() {
  local pid
  if pid="$(running_pid)"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  else
    echo "puppetdb.sh: not running" >&2
  fi
  rm -f "$pidfile"
  if [ "$drop" = 1 ]; then
    psql -d postgres -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null || die "DROP DATABASE $database failed"
  fi
}

case "$cmd" in
  start) do_start ;;
  stop) do_stop ;;
  info) print_info ;;
  *) sed -n '2,25p' "$0" >&2; exit 2 ;;
esac
