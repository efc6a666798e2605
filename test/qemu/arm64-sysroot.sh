#!/usr/bin/env bash
# test/qemu/arm64-sysroot.sh: brings what the ARM (aarch64) test runs on:
# qemu-user-static from Debian, and Debian 12's arm64 Node.js 18 with the
# libraries it loads, unpacked into build/qemu/arm64-sysroot. Run as
#   qemu-aarch64-static -L build/qemu/arm64-sysroot build/qemu/arm64-sysroot/usr/bin/node
#
# Idempotent and cached: the .deb files stay in build/qemu/debs, and a
# finished sysroot (stamped with its package list) is left alone, so only a
# clean clone (build/ is not in git) downloads again. Needs root for apt-get
# (installing qemu-user-static, adding the arm64 architecture); the arm64
# packages are only downloaded and unpacked, never installed.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=build/qemu
SYSROOT=$OUT/arm64-sysroot
DEBS=$OUT/debs
# nodejs 18 and what its binary and libnode108 load; the arch-all node-*
# packages are modules Debian's node build loads from /usr/share/nodejs.
ARCH_PACKAGES=(nodejs libnode108 libc6 libgcc-s1 libstdc++6 libuv1 libicu72 libssl3
  libnghttp2-14 libc-ares2 libbrotli1 zlib1g)
ALL_PACKAGES=(node-cjs-module-lexer node-acorn node-undici)
WANT="${ARCH_PACKAGES[*]} ${ALL_PACKAGES[*]}"

say() { printf 'arm64-sysroot: %s\n' "$*" >&2; }

if command -v qemu-aarch64-static >/dev/null 2>&1 && [ -x "$SYSROOT/usr/bin/node" ] \
    && [ "$(cat "$SYSROOT/.packages" 2>/dev/null)" = "$WANT" ]; then
  say "ready (cached in $SYSROOT)"
  exit 0
fi

apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    apt_updated=1
  fi
}

bash "$(dirname "$0")/../../scripts/deps.sh" qemu-arm

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  say "adding the arm64 architecture to dpkg"
  dpkg --add-architecture arm64
  apt_updated=0
fi
if ! apt-cache show nodejs:arm64 >/dev/null 2>&1 || ! apt-cache show libnode108:arm64 >/dev/null 2>&1; then
  apt_update
fi
if ! apt-cache show libnode108:arm64 >/dev/null 2>&1; then
  say "error: no libnode108:arm64 in the apt sources (this test wants Debian 12 bookworm's nodejs 18); sources: $(grep -rhs '^Suites:\|^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/ | tr '\n' ' ')"
  exit 1
fi

mkdir -p "$DEBS"
names=()
for p in "${ARCH_PACKAGES[@]}"; do names+=("$p:arm64"); done
names+=("${ALL_PACKAGES[@]}")
# One query gives each package's file name and SHA-256 for the versions apt would pick.
plan=$(apt-get download --print-uris "${names[@]}")
missing=()
while read -r _uri file _size sum; do
  [ -s "$DEBS/$file" ] && [ "$(sha256sum "$DEBS/$file" | cut -d' ' -f1)" = "${sum#SHA256:}" ] || missing+=("$file")
done <<<"$plan"
if [ "${#missing[@]}" -gt 0 ]; then
  say "downloading ${#missing[@]} package(s) into $DEBS"
  (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "${names[@]}")
fi

tmp=$SYSROOT.tmp
rm -rf "$tmp"
mkdir -p "$tmp"
while read -r _uri file _size sum; do
  [ "$(sha256sum "$DEBS/$file" | cut -d' ' -f1)" = "${sum#SHA256:}" ] || { say "error: $DEBS/$file does not match its SHA-256"; exit 1; }
  dpkg-deb -x "$DEBS/$file" "$tmp"
done <<<"$plan"
got=$(qemu-aarch64-static -L "$tmp" "$tmp/usr/bin/node" -p 'process.version + " " + process.arch')
say "unpacked: node $got"
case "$got" in v18.*' arm64') ;; *) say "error: expected Node.js 18 on arm64, got: $got"; exit 1 ;; esac
printf '%s' "$WANT" >"$tmp/.packages"
rm -rf "$SYSROOT"
mv "$tmp" "$SYSROOT"
say "ready: $SYSROOT"
