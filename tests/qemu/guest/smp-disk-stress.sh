# ata_smp suite (tests/suites/ata_smp.py): two CPUs, an encrypted IDE disk (the boot disk;
# its unmounted data partition, number 2, is written raw) and an encrypted AHCI disk
# (AHCI_SECTORS long), both busy at once, each from its own CPU; meanwhile xmmcheck on each
# CPU holds its own pattern in xmm0-xmm15. ROUNDS rounds of IO_KIB KiB written and read back
# directly on each disk. AHCI_SECTORS, ROUNDS and IO_KIB come first. Which of the two is sda
# depends on the order the drivers probe in: the sizes tell them apart.
n=$(nproc)
[ "$n" = 2 ] && echo "TV-SMP ok: nproc" || echo "TV-SMP FAIL: nproc is $n"
ahci=
ide=
for d in /sys/block/sd*; do
    if [ "$(cat $d/size)" = "$AHCI_SECTORS" ]; then ahci=${d##*/}; else ide=${d##*/}2; fi
done
echo "smp: IDE data partition $ide, AHCI disk $ahci"
[ -n "$ahci" ] && [ -e /dev/$ide ] || { echo "TV-SMP FAIL: disks not found"; ls /sys/block; }
grep -E "ata_piix|ahci" /proc/interrupts
# Each controller's interrupt on the CPU that drives it, where the driver allows it.
for irq in $(grep ata_piix /proc/interrupts | cut -d: -f1); do echo 1 > /proc/irq/$irq/smp_affinity 2>/dev/null; done
for irq in $(grep ahci /proc/interrupts | cut -d: -f1); do echo 2 > /proc/irq/$irq/smp_affinity 2>/dev/null; done

dd if=/dev/urandom of=/tmp/src bs=1024 count=$IO_KIB 2>/dev/null
want=$(sha256sum < /tmp/src | cut -d' ' -f1)
echo "TV-SMP src $want"
rm -f /tmp/xmm-stop
taskset -c 0 xmmcheck 11 /tmp/xmm-stop > /tmp/xmm0 &
x0=$!
taskset -c 1 xmmcheck 29 /tmp/xmm-stop > /tmp/xmm1 &
x1=$!
# disk_io CPU DEV SEEK_KIB: write /tmp/src there directly, read it back directly, print its sha256
disk_io() {
    taskset -c $1 dd if=/tmp/src of=/dev/$2 bs=64k seek=$(($3 / 64)) oflag=direct conv=notrunc 2>/tmp/err.$2 &&
    taskset -c $1 dd if=/dev/$2 bs=64k skip=$(($3 / 64)) count=$((IO_KIB / 64)) iflag=direct 2>>/tmp/err.$2 |
        sha256sum | cut -d' ' -f1
}
bad=0
round=1
while [ $round -le $ROUNDS ]; do
    disk_io 0 "$ide" 1024 > /tmp/sum.ide &
    a=$!
    disk_io 1 "$ahci" $((round * 64)) > /tmp/sum.ahci &
    b=$!
    wait $a
    wait $b
    for k in ide ahci; do
        got=$(cat /tmp/sum.$k)
        [ "$got" = "$want" ] || { bad=1; echo "TV-SMP FAIL: round $round $k read $got, wrote $want"; cat /tmp/err.*; }
    done
    round=$((round + 1))
done
touch /tmp/xmm-stop
wait $x0
r0=$?
wait $x1
r1=$?
cat /tmp/xmm0 /tmp/xmm1
[ $r0 = 0 ] && [ $r1 = 0 ] && grep -q XMM-OK /tmp/xmm0 && grep -q XMM-OK /tmp/xmm1 &&
    echo "TV-SMP ok: xmm" || echo "TV-SMP FAIL: xmm registers changed under a guest program"
dmesg | grep -i -E "I/O error|exception Emask|failed command" | head -5 | sed 's/^/TV-SMP FAIL: dmesg: /'
[ $bad = 0 ] && echo "TV-SMP ok: checksums"
