#!/usr/bin/env bash
# A Debian 13 (trixie) chroot with Puppet 8 (Debian's puppet-agent), in which the module's
# integration tests run `puppet apply` under Puppet 8 (through scripts/puppet8.sh).
#
# Built once with debootstrap from the Debian archive this machine's apt uses, and kept in
# $EXPORTFACT_PUPPET8_ROOT (default /var/cache/exportfact/puppet8-trixie): a second run only
# checks it (a second or so). A root that is missing, half-built or broken (no working
# Puppet 8 in it) is built again, so a new machine needs nothing but debootstrap, network
# access to the archive and root. Prints the root on stdout.
#
#   scripts/puppet8-chroot.sh            # build if needed, print the root
#   scripts/puppet8-chroot.sh --rebuild  # build again from nothing
set -euo pipefail

ROOT=${EXPORTFACT_PUPPET8_ROOT:-/var/cache/exportfact/puppet8-trixie}
SUITE=trixie
# What the tests need in the chroot: Puppet 8 and Facter (puppet-agent pulls Ruby 3.3 and
# facter) for `puppet apply`, rspec-puppet for the module's unit tests. A root built with
# another list is built again.
PACKAGES=puppet-agent,ruby-rspec-puppet
STAMP="$ROOT/.exportfact-puppet8"

log() { echo "puppet8-chroot: $*" >&2; }
die() { log "FATAL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing (Debian: apt-get install debootstrap)"

# The Debian mirror of this machine's apt sources (deb822 or one-line), else deb.debian.org.
mirror() {
  local uri
  uri=$(sed -n 's/^URIs:[[:space:]]*\(http[^[:space:]]*\/debian\/\?\)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$uri" ] || uri=$(sed -n 's/^deb[[:space:]]\+\(http[^[:space:]]*\/debian\/\?\)[[:space:]].*/\1/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -1)
  echo "${EXPORTFACT_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

# Unmounts whatever is mounted below a folder (debootstrap mounts proc and sys in its target;
# an interrupted build may leave them), deepest first. Never remove a folder before this.
unmount_below() {
  local dir mounts
  dir=$(realpath -m "$1")
  mounts=$(awk -v d="$dir/" 'index($2 "/", d) == 1 { print $2 }' /proc/mounts | sort -r)
  for m in $mounts; do umount -l "$m" || die "cannot unmount $m"; done
  if awk -v d="$dir/" 'index($2 "/", d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    die "something is still mounted below $dir: not removing it"
  fi
}

remove_tree() {
  [ -e "$1" ] || return 0
  unmount_below "$1"
  rm -rf --one-file-system "$1"
}

healthy() {
  [ -f "$STAMP" ] && grep -qx "packages=$PACKAGES" "$STAMP" || return 1
  local version
  version=$(chroot "$ROOT" /usr/bin/puppet --version 2>/dev/null) || return 1
  [[ "$version" == 8.* ]]
}

mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock 9 # two test runs on one machine build it once

if [ "${1:-}" != "--rebuild" ] && healthy; then
  echo "$ROOT"
  exit 0
fi

[ -e "$ROOT" ] && log "$ROOT lacks its stamp, a working Puppet 8 or one of $PACKAGES: building it again"
new="$ROOT.new"
remove_tree "$new"
trap 'unmount_below "$new" || true' EXIT
started=$(date +%s)
log "debootstrap $SUITE from $(mirror) into $new (packages: $PACKAGES)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$new" "$(mirror)" >"$new.log" 2>&1 \
  || { tail -30 "$new.log" >&2; die "debootstrap failed (whole log: $new.log)"; }
unmount_below "$new"
version=$(chroot "$new" /usr/bin/puppet --version) || die "puppet does not run in the new chroot"
[[ "$version" == 8.* ]] || die "the chroot has Puppet $version, not 8"
facter=$(chroot "$new" /usr/bin/facter --version)
ruby=$(chroot "$new" /usr/bin/ruby -e 'print RUBY_VERSION')
printf 'suite=%s\npackages=%s\npuppet=%s\nfacter=%s\nruby=%s\nbuilt=%s\nseconds=%s\n' \
  "$SUITE" "$PACKAGES" "$version" "$facter" "$ruby" "$(date -u +%FT%TZ)" "$(( $(date +%s) - started ))" >"$new/.exportfact-puppet8"
remove_tree "$ROOT"
mv "$new" "$ROOT"
mv "$new.log" "$ROOT.log"
trap - EXIT
log "ready in $(( $(date +%s) - started ))s: Puppet $version, Facter $facter, Ruby $ruby"
echo "$ROOT"
