# ahci_bench: sequential write then read of MB MiB on the scratch disk /dev/sdb with O_DIRECT
# and 1 MiB dd blocks; VM exits (exit reasons only, not their sub-counters) and the block
# layer's completed requests read before and after each (exits only when the monitor runs).
counters() {
    thinvisor-ctl counters 2>/dev/null |
        awk '$1 != "hidden-access" && $1 != "io-passthrough" && $1 != "io-emulated" { s += $NF } END { print s + 0 }'
}
requests() { awk '{ print $1 + $5 }' /sys/block/sdb/stat; }
now() { awk '{ print $1 }' /proc/uptime; }
dev=/dev/sdb
[ -b $dev ] || { echo "TV-BENCH FAIL no $dev"; exit 1; }
echo "TV-BENCH-QUEUE max_sectors_kb=$(cat /sys/block/sdb/queue/max_sectors_kb) depth=$(cat /sys/block/sdb/device/queue_depth)"
sync
c0=$(counters); r0=$(requests); t0=$(now)
dd if=/dev/zero of=$dev bs=1M count=$MB oflag=direct 2>/dev/null || echo "TV-BENCH FAIL write"
t1=$(now); c1=$(counters); r1=$(requests)
dd if=$dev of=/dev/null bs=1M count=$MB iflag=direct 2>/dev/null || echo "TV-BENCH FAIL read"
t2=$(now); c2=$(counters); r2=$(requests)
echo "TV-BENCH write $MB $t0 $t1 $c0 $c1 $r0 $r1"
echo "TV-BENCH read $MB $t1 $t2 $c1 $c2 $r1 $r2"
