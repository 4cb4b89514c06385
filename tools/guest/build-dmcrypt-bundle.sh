#!/bin/bash
# The disk benches' dm-crypt peer (tests/bench/ata_bench.py, ahci_bench.py, mode dmcrypt): the
# guest kernel's dm-crypt module with its dependencies, and the host's dmsetup with its shared
# libraries, as one gzipped newc cpio that the bench hands the guest by fw_cfg
# (opt/thinvisor/dmcrypt) and tests/qemu/guest/dmcrypt-setup.sh unpacks. Kept out of the test
# guest's initramfs, which every other test boots.
#
# Usage: tools/guest/build-dmcrypt-bundle.sh [GUEST_DIR]   (default build/guest; needs the
# kernel package build-guest.sh fetched into third_party/cache, and dmsetup on the host)
# Output: GUEST_DIR/dmcrypt.cpio.gz
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/guest}
CACHE=$ROOT/third_party/cache
DST=$OUT/dmcrypt.cpio.gz
STAMP=$OUT/modules.stamp  # "<kernel version> <deb name>", from build-guest.sh

die() { echo "build-dmcrypt-bundle: error: $*" >&2; exit 1; }
[ -f "$STAMP" ] || die "$STAMP missing: run tools/guest/build-guest.sh first"
KVER=$(cut -d' ' -f1 "$STAMP")
KDEB=$CACHE/$(cut -d' ' -f2 "$STAMP")
[ -f "$KDEB" ] || die "$KDEB missing"
DMSETUP=$(command -v dmsetup || true)
[ -n "$DMSETUP" ] || [ -x /usr/sbin/dmsetup ] && DMSETUP=${DMSETUP:-/usr/sbin/dmsetup}
[ -x "$DMSETUP" ] || die "dmsetup not found (package dmsetup)"
if [ -f "$DST" ] && [ "$DST" -nt "$KDEB" ] && [ "$DST" -nt "$0" ] && [ "$DST" -nt "$DMSETUP" ]; then exit 0; fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
KX=$WORK/kx
R=$WORK/root/dm
mkdir -p "$KX" "$R/mods" "$R/bin" "$R/lib"
dpkg-deb -x "$KDEB" "$KX"
[ -d "$KX/lib/modules/$KVER" ] || { mkdir -p "$KX/lib/modules"; ln -s "../../usr/lib/modules/$KVER" "$KX/lib/modules/$KVER"; }
depmod -b "$KX" "$KVER"

# Modules in load order (dependencies first), numbered so that a plain sort keeps the order.
n=0
for m in dm_crypt xts aesni_intel; do
    modprobe -d "$KX" -S "$KVER" --show-depends "$m" | while read -r kind path _; do
        [ "$kind" = insmod ] || continue
        base=$(basename "$path"); base=${base%.xz}; base=${base%.zst}; base=${base%.gz}
        ls "$R/mods" | grep -q -- "-$base\$" && continue
        n=$(ls "$R/mods" | wc -l)
        dst=$R/mods/$(printf %02d "$n")-$base
        case $path in
            *.ko.xz) xz -dc "$path" > "$dst" ;;
            *.ko.zst) zstd -qdc "$path" > "$dst" ;;
            *.ko.gz) gzip -dc "$path" > "$dst" ;;
            *) cp "$path" "$dst" ;;
        esac
    done
done

cp "$DMSETUP" "$R/bin/dmsetup"
ldd "$DMSETUP" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | while read -r lib; do
    [ -f "$lib" ] || continue
    case $lib in
        */ld-linux*) cp -L "$lib" "$R/ld.so" ;;
        *) cp -L "$lib" "$R/lib/" ;;
    esac
done
[ -f "$R/ld.so" ] || die "no dynamic loader found for $DMSETUP"

(cd "$WORK/root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0 --reproducible) |
    gzip -6 -n > "$DST.tmp"
mv "$DST.tmp" "$DST"
echo "build-dmcrypt-bundle: $DST ($(ls "$R/mods" | tr '\n' ' '))" >&2
