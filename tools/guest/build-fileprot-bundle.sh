#!/bin/bash
# The file-protection scenario's guest tools (tests/suites/fileprot_boot.py): the guest kernel's
# ext4 module with its dependencies, and the host's debugfs and e2fsck with their shared
# libraries, as one newc cpio that the suite hands the guest as a disk of its own (fw_cfg
# took minutes for its 6 MB); the guest script unpacks it into /tmp/fp. Kept out of the test
# guest's initramfs, which every other test boots (the same pattern as build-dmcrypt-bundle.sh).
#
# Usage: tools/guest/build-fileprot-bundle.sh [GUEST_DIR]   (default build/guest; needs the
# kernel package build-guest.sh fetched into third_party/cache, and e2fsprogs on the host)
# Output: GUEST_DIR/fileprot.cpio
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${1:-$ROOT/build/guest}
CACHE=$ROOT/third_party/cache
DST=$OUT/fileprot.cpio
STAMP=$OUT/modules.stamp  # "<kernel version> <deb name>", from build-guest.sh

die() { echo "build-fileprot-bundle: error: $*" >&2; exit 1; }
[ -f "$STAMP" ] || die "$STAMP missing: run tools/guest/build-guest.sh first"
KVER=$(cut -d' ' -f1 "$STAMP")
KDEB=$CACHE/$(cut -d' ' -f2 "$STAMP")
[ -f "$KDEB" ] || die "$KDEB missing"
TOOLS=()
for t in debugfs e2fsck; do
    p=$(PATH=$PATH:/usr/sbin:/sbin command -v $t || true)
    [ -n "$p" ] || die "$t not found (package e2fsprogs)"
    TOOLS+=("$p")
done
fresh=1
for f in "$KDEB" "$0" "${TOOLS[@]}"; do [ -f "$DST" ] && [ "$DST" -nt "$f" ] || fresh=0; done
[ $fresh = 1 ] && exit 0

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
KX=$WORK/kx
R=$WORK/root/fp
mkdir -p "$KX" "$R/mods" "$R/bin" "$R/lib"
dpkg-deb -x "$KDEB" "$KX"
[ -d "$KX/lib/modules/$KVER" ] || { mkdir -p "$KX/lib/modules"; ln -s "../../usr/lib/modules/$KVER" "$KX/lib/modules/$KVER"; }
depmod -b "$KX" "$KVER"

# Modules in load order (dependencies first), numbered so that a plain sort keeps the order.
for m in crc32c_generic ext4; do
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

for t in "${TOOLS[@]}"; do
    cp "$t" "$R/bin/"
    ldd "$t" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }' | while read -r lib; do
        [ -f "$lib" ] || continue
        case $lib in
            */ld-linux*) cp -L "$lib" "$R/ld.so" ;;
            *) cp -L "$lib" "$R/lib/" ;;
        esac
    done
done
[ -f "$R/ld.so" ] || die "no dynamic loader found for debugfs"

(cd "$WORK/root" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner=0:0 --reproducible) \
    > "$DST.tmp"
mv "$DST.tmp" "$DST"
echo "build-fileprot-bundle: $DST ($(ls "$R/mods" | tr '\n' ' '))" >&2
