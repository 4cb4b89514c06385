# ata_bench: sequential write then read of MB MiB on the scratch disk /dev/sdb with O_DIRECT
# and 1 MiB requests; the monitor's exit counters (events such as io-emulated excluded, they
# count the same exits again) are read before and after each, when the monitor runs.
exits() {
    thinvisor-ctl counters 2>/dev/null |
        awk '$1 !~ /^(hidden-access|io-passthrough|io-emulated)$/ { s += $NF } END { print s + 0 }'
}
now() { awk '{ print $1 }' /proc/uptime; }
dev=/dev/sdb
[ -b $dev ] || { echo "TV-BENCH FAIL no $dev"; exit 1; }
sync
c0=$(exits); t0=$(now)
dd if=/dev/zero of=$dev bs=1M count=$MB oflag=direct 2>/dev/null || echo "TV-BENCH FAIL write"
t1=$(now); c1=$(exits)
dd if=$dev of=/dev/null bs=1M count=$MB iflag=direct 2>/dev/null || echo "TV-BENCH FAIL read"
t2=$(now); c2=$(exits)
echo "TV-BENCH write $MB $t0 $t1 $c0 $c1"
echo "TV-BENCH read $MB $t1 $t2 $c1 $c2"
