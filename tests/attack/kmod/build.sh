#!/usr/bin/env bash
# Builds tvlpa.ko (the attack suite's large-page module, tvlpa.c) against the guest kernel's own
# Debian headers: the linux-headers and linux-kbuild packages of the kernel build-guest.sh put
# in the guest are fetched by name (apt-get download) into build/lpa/ (git-ignored), unpacked
# there and used in place; no package is installed on the host. Prints the module's path;
# exits non-zero (and the attack is skipped) when the headers cannot be had.
#   tests/attack/kmod/build.sh [KERNEL_DEB]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
OUT=$ROOT/build/lpa
DEB=${1:-$(ls -t "$ROOT"/third_party/cache/linux-image-*-amd64_*.deb 2>/dev/null | head -n1)}
[ -n "$DEB" ] || { echo "tvlpa: no guest kernel package in third_party/cache" >&2; exit 1; }
ABI=$(basename "$DEB" | sed -n 's/^linux-image-\([0-9.]*-[0-9]*\)-amd64_.*/\1/p')   # 6.1.0-57
VER=$(basename "$DEB" | sed -n 's/^linux-image-[^_]*_\([^_]*\)_.*/\1/p')            # 6.1.192-3
SERIES=${ABI%.*}                                                                     # 6.1
KO=$OUT/mod/tvlpa.ko
mkdir -p "$OUT/debs" "$OUT/mod"
if [ -e "$KO" ] && [ "$KO" -nt "$ROOT/tests/attack/kmod/tvlpa.c" ] && [ "$(cat "$OUT/abi" 2>/dev/null)" = "$ABI" ]; then
    echo "$KO"; exit 0
fi
for p in linux-headers-$ABI-amd64 linux-headers-$ABI-common linux-kbuild-$SERIES; do
    ls "$OUT/debs/${p}_${VER}_"*.deb >/dev/null 2>&1 ||
        (cd "$OUT/debs" && apt-get download "$p=$VER" >&2) ||
        { echo "tvlpa: apt-get download $p=$VER failed" >&2; exit 1; }
done
rm -rf "$OUT/root"
for d in "$OUT/debs/"*"_${VER}_"*.deb; do dpkg-deb -x "$d" "$OUT/root"; done
H=$OUT/root/usr/src/linux-headers-$ABI-amd64
# The package's Makefile includes the common tree by its absolute /usr/src path.
echo "include $OUT/root/usr/src/linux-headers-$ABI-common/Makefile" > "$H/Makefile"
cp "$ROOT/tests/attack/kmod/tvlpa.c" "$ROOT/tests/attack/kmod/Kbuild" "$OUT/mod/"
make -s -C "$H" M="$OUT/mod" modules >&2
echo "$ABI" > "$OUT/abi"
echo "$KO"
