#!/usr/bin/env bash
# scripts/nats-server.sh: the NATS server the cluster tests run (test/support/nats-cluster.ts;
# docs/cluster.md, "The NATS servers in tests"), one pinned version, built from source with Go
# into a cache outside the clone. `make nats-tools` runs it; `make test` depends on that.
#
# A binary already in the cache that reports the pinned version is used as it is (no network,
# milliseconds). Otherwise `go install` builds it (about 35 s cold) through the Go module proxy,
# whose checksum database checks every module; the binary lands in a temporary GOBIN first and
# is moved into place only once it reports the pinned version, so an interrupted build never
# leaves a half-written one behind. The last line on stdout is the binary's path.
set -euo pipefail

VERSION=2.15.3
cache="${QENEX_CACHE:-$HOME/.cache/qenex}/nats-server-v$VERSION"
bin="$cache/nats-server"

# Prints the version the binary at $1 reports ("nats-server: v2.15.3"), or nothing.
reports() { "$1" --version 2>/dev/null | sed -n 's/^nats-server: v//p' | head -1; }

if [ -x "$bin" ] && [ "$(reports "$bin")" = "$VERSION" ]; then echo "$bin"; exit 0; fi

# Go from the PATH, else where the official tarball installs it.
go="$(command -v go || true)"
[ -z "$go" ] && [ -x /usr/local/go/bin/go ] && go=/usr/local/go/bin/go
if [ -z "$go" ]; then
  echo "nats-tools: no Go toolchain (go) found, needed to build nats-server v$VERSION; install Go 1.26 or later" \
    "from https://go.dev/dl/ (into /usr/local/go, or on the PATH; Debian 12's golang-go is too old) and run make nats-tools again" >&2
  exit 1
fi

echo "== nats-tools: building nats-server v$VERSION with $("$go" env GOVERSION) into $cache (about 35 s the first time)" >&2
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
log="$cache/build.log"
# GOFLAGS=-mod=mod: no vendor directory or workspace of the caller's may change what is built.
if ! GOBIN="$tmp" GOFLAGS=-mod=mod "$go" install "github.com/nats-io/nats-server/v2@v$VERSION" >"$log" 2>&1; then
  echo "nats-tools: go install of nats-server v$VERSION failed (offline, or the module proxy refused?); go said ($log):" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
got="$(reports "$tmp/nats-server")"
if [ "$got" != "$VERSION" ]; then
  echo "nats-tools: the nats-server just built reports version '${got:-none}', not $VERSION" >&2
  exit 1
fi
mv -f "$tmp/nats-server" "$bin"
echo "$bin"
