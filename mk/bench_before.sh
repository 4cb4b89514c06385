#!/bin/bash
# Builds the monitor of an older commit for `make bench BEFORE=REF`, so the benches that know
# TV_BENCH_BEFORE measure before and after in the same run. The old tree is checked out beside
# the build (a throwaway git worktree) and shares this tree's third_party/, whose stamp is
# refreshed so the old Makefile never reruns mk/deps.sh over the shared tree.
# Usage: mk/bench_before.sh REF OUT.elf
set -euo pipefail
ref=$1 out=$2
root=$(git rev-parse --show-toplevel)
id=$(git -C "$root" rev-parse --short "$ref")
if [[ -f $out && -f $out.ref && $(cat "$out.ref") == "$id" ]]; then
    echo "bench-before: $out is $id already"; exit 0
fi
wt=$(mktemp -d /tmp/tv-before.XXXXXX)
cleanup() { git -C "$root" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"; }
trap cleanup EXIT
git -C "$root" worktree add -q --detach "$wt" "$id"
ln -s "$root/third_party" "$wt/third_party"
touch "$root/third_party/.deps-ok"
echo "bench-before: building $id in $wt"
make -C "$wt" -j"$(nproc)" build/thinvisor.elf > "$wt.log" 2>&1 || { tail -20 "$wt.log"; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$wt/build/thinvisor.elf" "$out"
echo "$id" > "$out.ref"
echo "bench-before: $out from $id"
