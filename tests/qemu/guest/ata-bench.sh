# ata_bench: sequential write then read of MB MiB on the 128 MiB scratch disk with O_DIRECT
# and 1 MiB requests; the monitor's exit counters (events such as io-emulated excluded, they
# count the same exits again) are read before and after each, when the monitor runs.
exits() {
    thinvisor-ctl counters 2>/dev/null |
        awk '$1 !~ /^(hidden-access|io-passthrough|io-emulated)$/ { s += $NF } END { print s + 0 }'
}
now() { awk '{ print $1 }' /proc/uptime; }
# The scratch disk by its size (128 MiB = 262144 sectors): ata_piix probes the two channels
# in parallel, so sda/sdb name either disk from one boot to the next.
dev=
for b in /sys/block/sd*; do [ "$(cat $b/size)" = 262144 ] && dev=/dev/${b##*/}; done
[ -b "$dev" ] || { echo "TV-BENCH FAIL no 128 MiB scratch disk"; exit 1; }
blk=${dev#/dev/}
# Requests the disk completed (reads + writes): a 1 MiB dd block may become one command or
# several (up to 128 PRD entries each), so exits per request is the steadier number.
requests() { awk '{ print $1 + $5 }' /sys/block/$blk/stat; }
# The dm-crypt peer (DMCRYPT=1, dmcrypt-setup.sh prepended): the same disk through dm-crypt.
if [ -n "$DMCRYPT" ]; then
    dev=$(dmcrypt_setup $blk)
    [ -b "$dev" ] || { echo "TV-BENCH FAIL dm-crypt setup"; exit 1; }
fi
sync
q0=$(requests); c0=$(exits); t0=$(now)
dd if=/dev/zero of=$dev bs=1M count=$MB oflag=direct 2>/dev/null || echo "TV-BENCH FAIL write"
t1=$(now); c1=$(exits); q1=$(requests)
dd if=$dev of=/dev/null bs=1M count=$MB iflag=direct 2>/dev/null || echo "TV-BENCH FAIL read"
t2=$(now); c2=$(exits); q2=$(requests)
echo "TV-BENCH write $MB $t0 $t1 $c0 $c1"
echo "TV-BENCH read $MB $t1 $t2 $c1 $c2"
echo "TV-BENCH-REQUESTS $dev $((q1 - q0)) $((q2 - q1))"
