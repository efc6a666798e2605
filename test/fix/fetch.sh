#!/usr/bin/env bash
# test/fix/fetch.sh CACHE: QuickFIX/J's jars (test/fix/pom.xml) in CACHE/jars, each checked
# against test/fix/jars.sha256. `make fix-tools` runs it; docs/fix.md, "The counterparty in tests".
#
# Jars already in CACHE that match are used as they are (no network). Otherwise Maven fetches
# them from Maven Central with strict checksums (-C: each file against the repository's .sha1),
# its own local repository being CACHE/../m2, outside the clone; then the pinned SHA-256 of
# every jar is checked, and only then are they moved into CACHE/jars. A JDK and Maven are
# installed from Debian's packages when missing (as root, or with sudo without a password).
set -euo pipefail

cache="${1:?usage: test/fix/fetch.sh CACHE}"
here="$(cd "$(dirname "$0")" && pwd)"
sums="$here/jars.sha256"
# The plugin that copies the jars, pinned so that Maven's own default does not decide.
DEPENDENCY_PLUGIN=3.8.1

verify() { [ -d "$1" ] && (cd "$1" && sha256sum --check --quiet --strict "$sums" >/dev/null 2>&1); }

need=()
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ ${#need[@]} -gt 0 ]; then
  echo "== fix-tools: installing ${need[*]} (a JDK and Maven for the FIX test peers)"
  if [ "$(id -u)" -eq 0 ]; then run=(); elif sudo -n true 2>/dev/null; then run=(sudo -n); else
    echo "fix-tools: missing ${need[*]}; install them as root (apt-get install ${need[*]}) and run again" >&2; exit 1; fi
  if ! command -v apt-get >/dev/null 2>&1; then echo "fix-tools: missing ${need[*]} and no apt-get here; install a JDK 17 and Maven" >&2; exit 1; fi
  "${run[@]}" apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive "${run[@]}" apt-get install -y -qq "${need[@]}" >/dev/null
fi

verify "$cache/jars" && exit 0

echo "== fix-tools: fetching QuickFIX/J and its dependencies from Maven Central into $cache"
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log="$cache/fetch.log"
if ! mvn -B -q -C -Dstyle.color=never -f "$here/pom.xml" -Dmaven.repo.local="$(dirname "$cache")/m2" \
    "org.apache.maven.plugins:maven-dependency-plugin:$DEPENDENCY_PLUGIN:copy-dependencies" \
    -DincludeScope=runtime -DoutputDirectory="$tmp/jars" >"$log" 2>&1; then
  echo "fix-tools: could not fetch QuickFIX/J from Maven Central (offline, or the registry refused?); Maven said ($log):" >&2
  sed 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^\[ERROR\] [^ ]' | grep -v -E 're-run Maven|For more information' | head -1 | cut -c1-400 >&2
  exit 1
fi
if ! verify "$tmp/jars"; then
  echo "fix-tools: the jars Maven fetched do not match test/fix/jars.sha256:" >&2
  (cd "$tmp/jars" && sha256sum --check --strict "$sums" 2>&1 | grep -v ': OK$' >&2) || true
  exit 1
fi
rm -rf "$cache/jars"
mv "$tmp/jars" "$cache/jars"
