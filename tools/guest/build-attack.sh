#!/usr/bin/env bash
# Builds tvattack, the attack suite's hostile guest program (tests/attack/*.c), as a static
# binary for the demo guest's initramfs. Called by build-guest.sh (step 3); by hand:
#   tools/guest/build-attack.sh OUTDIR     -> OUTDIR/tvattack (rebuilt when a source is newer)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:?usage: build-attack.sh OUTDIR}
SRCS=("$ROOT"/tests/attack/*.c)
BIN=$OUT/tvattack
mkdir -p "$OUT"
if [ -e "$BIN" ]; then
    stale=0
    for f in "${SRCS[@]}" "$ROOT"/tests/attack/*.h "$ROOT/include/thinvisor/hypercall.h" "$0"; do
        [ "$f" -nt "$BIN" ] && stale=1
    done
    [ "$stale" = 1 ] || exit 0
fi
echo "build-guest: compiling tvattack" >&2
gcc -static -O2 -Wall -Wextra -I"$ROOT/include" -o "$BIN.tmp" "${SRCS[@]}"
strip "$BIN.tmp" 2>/dev/null || true
mv "$BIN.tmp" "$BIN"
