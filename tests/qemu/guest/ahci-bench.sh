# ahci_bench: sequential write then read of MB MiB on the scratch disk with O_DIRECT
# and 1 MiB dd blocks; VM exits (exit reasons only, not their sub-counters) and the block
# layer's completed requests read before and after each (exits only when the monitor runs).
# Every counter's change is printed too (TV-BENCH-DELTA phase name delta): the exit reasons,
# and with `thinvisor-ctl device-counters` the AHCI mediator's accesses per register.
snap() {
    { thinvisor-ctl counters; thinvisor-ctl device-counters; } 2>/dev/null > "$1"
}
exits() { awk '$1 !~ /^(hidden-access|io-passthrough|io-emulated)$/ && $1 !~ /\./ { s += $NF } END { print s + 0 }' "$1"; }
deltas() {
    awk -v phase="$1" 'FNR == NR { a[$1] = $2; next } $2 - a[$1] != 0 { print "TV-BENCH-DELTA", phase, $1, $2 - a[$1] }' "$2" "$3"
}
# The scratch disk by its serial (VPD page 80): the two disks probe in either order, so
# /dev/sdb is sometimes the system disk.
name=
for d in /sys/block/sd*; do grep -q TVSCRATCH $d/device/vpd_pg80 2>/dev/null && name=${d##*/}; done
dev=/dev/$name
[ -n "$name" ] && [ -b $dev ] || { echo "TV-BENCH FAIL no scratch disk"; exit 1; }
# The dm-crypt peer (DMCRYPT=1, dmcrypt-setup.sh prepended): the same disk through dm-crypt.
if [ -n "$DMCRYPT" ]; then
    dev=$(dmcrypt_setup $name)
    [ -b "$dev" ] || { echo "TV-BENCH FAIL dm-crypt setup"; exit 1; }
fi
requests() { awk '{ print $1 + $5 }' /sys/block/$name/stat; }
now() { awk '{ print $1 }' /proc/uptime; }
q=/sys/block/$name/queue
echo "TV-BENCH-QUEUE $name model=$(cat /sys/block/$name/device/model | tr ' ' _) max_sectors_kb=$(cat $q/max_sectors_kb) max_hw_sectors_kb=$(cat $q/max_hw_sectors_kb) max_segments=$(cat $q/max_segments) depth=$(cat /sys/block/$name/device/queue_depth)"
sync
snap /tmp/s0; r0=$(requests); t0=$(now)
dd if=/dev/zero of=$dev bs=1M count=$MB oflag=direct 2>/dev/null || echo "TV-BENCH FAIL write"
t1=$(now); snap /tmp/s1; r1=$(requests)
dd if=$dev of=/dev/null bs=1M count=$MB iflag=direct 2>/dev/null || echo "TV-BENCH FAIL read"
t2=$(now); snap /tmp/s2; r2=$(requests)
deltas write /tmp/s0 /tmp/s1
deltas read /tmp/s1 /tmp/s2
echo "TV-BENCH write $MB $t0 $t1 $(exits /tmp/s0) $(exits /tmp/s1) $r0 $r1"
echo "TV-BENCH read $MB $t1 $t2 $(exits /tmp/s1) $(exits /tmp/s2) $r1 $r2"
