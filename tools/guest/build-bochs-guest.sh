#!/usr/bin/env bash
# Builds the Bochs variant of the test guest, build/guest/disk-bochs.img: the same kernel,
# initramfs and syslinux disk as disk.img, but the kernel is "flat" (tools/guest/flat-kernel.py:
# stored uncompressed, entered by a small stub instead of its XZ decompressor) and boots
# quietly on the serial console only. Under Bochs (about 60 M instructions/s) that cuts a boot
# from about 6 to about 2 billion instructions; the kernel itself is byte for byte the same.
#
# Usage: tools/guest/build-bochs-guest.sh [--out DIR]   (default DIR: build/guest)
# Outputs in DIR: vmlinuz-flat, disk-bochs.img (and what build-guest.sh makes).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/build/guest
case ${1:-} in
    --out) OUT=$2 ;;
    "") ;;
    *) echo "build-bochs-guest: unknown argument '$1'" >&2; exit 64 ;;
esac
SRC=$ROOT/tools/guest
# clearcpuid=fsrm: Bochs 2.7's Ice Lake and Tiger Lake models offer "fast short REP MOVSB",
# and Linux 6.1, which then copies with REP MOVSB alone, corrupts its own text while patching
# alternatives (it loops on a page fault right after "LSM: Security Framework initializing",
# with or without thinvisor). Without FSRM it takes its ordinary memcpy.
CMDLINE="console=ttyS0,115200 panic=-1 nokaslr quiet clearcpuid=fsrm"

bash "$SRC/build-guest.sh" --out "$OUT"
FLAT=$OUT/vmlinuz-flat
if [ ! -e "$FLAT" ] || [ "$OUT/vmlinuz" -nt "$FLAT" ] || [ "$SRC/flat-kernel.py" -nt "$FLAT" ] ||
   [ "$SRC/flatboot.S" -nt "$FLAT" ]; then
    python3 "$SRC/flat-kernel.py" "$OUT/vmlinuz" "$FLAT"
fi
bash "$SRC/build-guest.sh" --out "$OUT" --disk-name disk-bochs.img --disk-kernel "$FLAT" --disk-append "$CMDLINE"
