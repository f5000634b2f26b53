#!/usr/bin/env bash
# Runs Puppet 8 from the chroot of scripts/puppet8-chroot.sh as if it were installed here:
#
#   scripts/puppet8.sh apply --confdir /tmp/node/conf --modulepath ... site.pp
#   scripts/puppet8.sh --command rspec spec      # another program of the chroot
#
# Paths mean the same inside: the temporary folder (${TMPDIR:-/tmp}, where the tests keep
# their nodes), this repository (the module, its examples, the test fixtures) and any folder
# in $EXPORTFACT_PUPPET8_BIND (colon-separated) are bound at their own paths, with /proc,
# /sys, /dev, /etc/hosts and /etc/resolv.conf. The mounts live in a mount namespace of this
# command alone: they are gone when puppet exits, however it exits, and never show on the
# host. The network is the host's, so a broker on 127.0.0.1 answers. The working folder and
# the environment are kept (PATH is the chroot's); puppet's exit code is this command's.
set -euo pipefail

ROOT=${EXPORTFACT_PUPPET8_ROOT:-/var/cache/exportfact/puppet8-trixie}
REPO=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != "--in-namespace" ]; then
  [ -x "$ROOT/usr/bin/puppet" ] || { echo "puppet8.sh: no Puppet 8 chroot at $ROOT: run scripts/puppet8-chroot.sh" >&2; exit 1; }
  exec unshare --mount --propagation private -- "$0" --in-namespace "$@"
fi
shift

bind() { # bind SOURCE at the same path inside the chroot
  local src=$1 target="$ROOT$1"
  if [ -d "$src" ]; then mkdir -p "$target"; else [ -e "$target" ] || : >"$target"; fi
  mount --rbind "$src" "$target"
}

bind /proc
bind /sys
bind /dev
bind /etc/hosts
bind /etc/resolv.conf
IFS=: read -r -a extra <<<"${EXPORTFACT_PUPPET8_BIND:-}"
for dir in "$(realpath "${TMPDIR:-/tmp}")" "$REPO" "${extra[@]}"; do
  [ -n "$dir" ] && bind "$dir"
done

program=/usr/bin/puppet
if [ "${1:-}" = "--command" ]; then
  program=$2
  shift 2
fi
exec chroot "$ROOT" /usr/bin/env --chdir "$PWD" PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin "$program" "$@"
