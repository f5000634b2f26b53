#!/usr/bin/env bash
# The Puppet module's own checks: lint (puppet-lint, RuboCop), rspec unit tests, and REFERENCE.md
# matching its sources.
# (The module's integration tests against a real broker run with mocha: test/puppet/.)
set -euo pipefail
cd "$(dirname "$0")/../puppet-module"
for tool in puppet puppet-lint rspec rubocop; do
  command -v "$tool" >/dev/null || { echo "FATAL: $tool is required by the module tests (Debian: apt-get install puppet puppet-lint ruby-rspec-puppet puppet-strings rubocop ruby-rubocop-rspec)" >&2; exit 1; }
done
echo "== puppet-lint"
puppet-lint --relative --fail-on-warnings manifests functions types examples
echo "== rubocop (configured in .rubocop.yml)"
rubocop --format simple
# A disabled cop must say why, on the same line.
if grep -rn --include='*.rb' 'rubocop:disable' lib spec | grep -v -- 'rubocop:disable [A-Za-z/, ]* -- .'; then
  echo "FATAL: a rubocop:disable above has no reason (write it after ' -- ' on the same line)" >&2
  exit 1
fi
echo "== metadata.json"
ruby -rjson -e 'm = JSON.parse(File.read("metadata.json")); %w[name version author summary license source dependencies].each { |k| abort("metadata.json lacks #{k}") unless m.key?(k) }'
echo "== REFERENCE.md is generated from the sources"
ref=$(mktemp)
trap 'rm -f "$ref"' EXIT
puppet strings generate --format markdown --out "$ref" >/dev/null
diff -u REFERENCE.md "$ref" || { echo "FATAL: REFERENCE.md is stale: run 'puppet strings generate --format markdown' in puppet-module/" >&2; exit 1; }
echo "== rspec on Puppet $(puppet --version)"
rspec spec
if [ "${EXPORTFACT_SKIP_PUPPET8:-}" = 1 ]; then
  echo "== rspec on Puppet 8: skipped (EXPORTFACT_SKIP_PUPPET8=1)"
else
  echo "== rspec on Puppet 8 (Debian 13 chroot of scripts/puppet8-chroot.sh; needs root)"
  bash ../scripts/puppet8-chroot.sh >/dev/null
  ../scripts/puppet8.sh --command rspec spec
fi
