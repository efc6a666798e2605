#!/usr/bin/env bash
# test/qemu/vm-assets.sh: what the virtual-machine test (test/qemu/vm.qemu.ts)
# boots: qemu-system-x86_64, busybox (the guest's shell and tools), e2fsprogs
# (the data disk is made and read on the host), and Debian's cloud kernel
# with the virtio modules the guest loads, unpacked into build/qemu/vm.
#
# Idempotent and cached: the kernel .deb stays in build/qemu/debs and a
# finished build/qemu/vm (stamped with the kernel package) is left alone.
set -euo pipefail
cd "$(dirname "$0")/../.."

OUT=build/qemu
VM=$OUT/vm
DEBS=$OUT/debs
# Loaded in this order by the guest's init (no modules.dep in the initramfs).
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_blk failover net_failover virtio_net)

say() { printf 'vm-assets: %s\n' "$*" >&2; }

bash "$(dirname "$0")/../../scripts/deps.sh" qemu-vm

# The versioned kernel package the cloud flavour's meta-package points at.
kpkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}')
if [ -z "$kpkg" ]; then
  apt-get update -qq
  kpkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
fi
[ -n "$kpkg" ] || { say "error: no linux-image-cloud-amd64 in the apt sources"; exit 1; }

STAMP="$kpkg ${MODULES[*]}"
if [ -f "$VM/vmlinuz" ] && [ "$(cat "$VM/.kernel" 2>/dev/null)" = "$STAMP" ]; then
  say "ready (cached in $VM, $kpkg)"
  exit 0
fi

mkdir -p "$DEBS"
read -r _uri file _size sum < <(apt-get download --print-uris "$kpkg")
if ! [ -s "$DEBS/$file" ] || [ "$(sha256sum "$DEBS/$file" | cut -d' ' -f1)" != "${sum#SHA256:}" ]; then
  say "downloading $kpkg"
  (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg")
fi
[ "$(sha256sum "$DEBS/$file" | cut -d' ' -f1)" = "${sum#SHA256:}" ] || { say "error: $DEBS/$file does not match its SHA-256"; exit 1; }

tmp=$VM.tmp
rm -rf "$tmp" "$tmp.x"
mkdir -p "$tmp/modules" "$tmp.x"
dpkg-deb -x "$DEBS/$file" "$tmp.x"
cp "$tmp.x"/boot/vmlinuz-* "$tmp/vmlinuz"
for m in "${MODULES[@]}"; do
  ko=$(find "$tmp.x/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
  [ -n "$ko" ] || { say "error: module $m not in $kpkg"; exit 1; }
  case "$ko" in *.xz) xz -dc "$ko" >"$tmp/modules/$m.ko" ;; *) cp "$ko" "$tmp/modules/$m.ko" ;; esac
done
printf '%s\n' "${MODULES[@]}" >"$tmp/modules/order"
rm -rf "$tmp.x"
printf '%s' "$STAMP" >"$tmp/.kernel"
rm -rf "$VM"
mv "$tmp" "$VM"
say "ready: $VM ($kpkg)"
