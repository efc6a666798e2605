#!/usr/bin/env bash
# scripts/deps.sh: the system packages QENEX's make targets need, installed
# when they are missing. One place, so `make run` and `make test` work on a
# fresh Debian machine by themselves, and CI (.ci/run) does the same thing.
#
#   bash scripts/deps.sh build    cargo, rustc (the native addon), libxml2 (its ISO 20022 check, loaded at run time)
#   bash scripts/deps.sh test     the above, SoftHSM2 (HSM tests), openssl (TLS tests)
#   bash scripts/deps.sh qemu-arm qemu-user-static (the arm64 test)
#   bash scripts/deps.sh qemu-vm  qemu-system-x86, busybox-static, e2fsprogs (the VM test)
#
# Each group is a list of "what package" pairs, where what is a command on the
# PATH, an executable given by its path, or lib:<file>, a shared library the
# dynamic loader finds (ldconfig's cache); one that is there is never
# installed again. Installing needs root (or sudo
# without a password); otherwise the script says exactly what to install and
# fails.
# On a machine without apt-get it names the packages and fails.
set -euo pipefail

group="${1:-}"
# The native addon: a Rust toolchain; and libxml2, which its ISO 20022 admission check loads at run time
# (host/native/src/libxml.rs: nothing is linked, so the rest of the addon loads without it).
native=("cargo cargo" "rustc rustc" "lib:libxml2.so.2 libxml2")
case "$group" in
  build) wants=("${native[@]}") ;;
  test) wants=("${native[@]}" "softhsm2-util softhsm2" "openssl openssl") ;;
  qemu-arm) wants=("qemu-aarch64-static qemu-user-static") ;;
  qemu-vm) wants=("qemu-system-x86_64 qemu-system-x86" "/bin/busybox busybox-static" "debugfs e2fsprogs" "mkfs.ext4 e2fsprogs") ;;
  *) echo "usage: bash scripts/deps.sh build|test|qemu-arm|qemu-vm" >&2; exit 2 ;;
esac

# A Rust toolchain from rustup counts as installed, even before the shell adds it to the PATH.
if [ -x "$HOME/.cargo/bin/cargo" ]; then export PATH="$HOME/.cargo/bin:$PATH"; fi

have() {
  case "$1" in
    /*) [ -x "$1" ] ;;
    # The cache is read whole first: grep -q closing the pipe early would fail it under pipefail.
    lib:*) local cache; cache="$(ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true)"; grep -q "[[:space:]]${1#lib:} " <<<"$cache" ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}
missing=()
for pair in "${wants[@]}"; do
  set -- $pair
  if ! have "$1" && [[ " ${missing[*]} " != *" $2 "* ]]; then missing+=("$2"); fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "== installing system packages for '$group': ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "deps: missing ${missing[*]} and this machine has no apt-get; install them with its package manager and run again" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
  run=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run=(sudo -n)
else
  echo "deps: missing ${missing[*]}; install them as root and run again:" >&2
  echo "    sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${run[@]}" apt-get update -qq
"${run[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "== installed: ${missing[*]}"
