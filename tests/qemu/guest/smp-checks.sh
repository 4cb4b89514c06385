# Guest script for the SMP scenarios: every CPU the firmware lists is online, and a parallel
# workload pinned one job per CPU computes the same digests as one CPU alone. The monitor
# scenario's checks follow (scenarios.py appends monitor-checks.sh).
want=${TV_SMP_CPUS:-2}
n=$(nproc)
online=$(cat /sys/devices/system/cpu/online)
echo "smp: nproc=$n online=$online"
grep -c ^processor /proc/cpuinfo
if [ "$n" = "$want" ]; then
    echo "TV-CHECK ok: smp-nproc"
else
    echo "TV-CHECK FAIL: smp-nproc: nproc is $n, expected $want"
    dmesg | grep -i -E "smp|cpu[0-9]|apic" | head -20
fi

# The same 4 MiB, hashed by one job on each CPU at once, several rounds: all digests equal.
dd if=/dev/urandom of=/tmp/smp-data bs=1024 count=4096 2>/dev/null
ref=$(sha256sum /tmp/smp-data | cut -d' ' -f1)
bad=0
for round in 1 2 3; do
    cpu=0
    while [ $cpu -lt "$n" ]; do
        if command -v taskset >/dev/null 2>&1; then
            taskset -c $cpu sha256sum /tmp/smp-data > /tmp/smp-$cpu &
        else
            sha256sum /tmp/smp-data > /tmp/smp-$cpu &
        fi
        cpu=$((cpu + 1))
    done
    wait
    cpu=0
    while [ $cpu -lt "$n" ]; do
        got=$(cut -d' ' -f1 /tmp/smp-$cpu)
        [ "$got" = "$ref" ] || { echo "smp: round $round cpu $cpu digest $got != $ref"; bad=1; }
        cpu=$((cpu + 1))
    done
done
if [ $bad = 0 ] && [ -n "$ref" ]; then
    echo "TV-CHECK ok: smp-parallel-sha256"
else
    echo "TV-CHECK FAIL: smp-parallel-sha256: digests differ"
fi

# The guest's own NMIs cross the monitor (it intercepts NMIs to kick and wake CPUs and must
# hand every NMI it did not send to the guest): sysrq 'l' sends an NMI to every other CPU,
# and each answers with its backtrace (Linux gives up on a CPU after 10 s). The backtraces
# stay off the console, where they could split a marker line.
printk=$(cut -f1 /proc/sys/kernel/printk)
echo 1 > /proc/sys/kernel/printk
echo 1 > /proc/sys/kernel/sysrq
echo l > /proc/sysrq-trigger
tries=0
while :; do
    seen=$(dmesg | grep -o "NMI backtrace for cpu [0-9]*" | sort -u | wc -l)
    [ "$seen" -ge "$n" ] || [ $tries -ge 15 ] && break
    sleep 1
    tries=$((tries + 1))
done
echo "$printk" > /proc/sys/kernel/printk
if [ "$seen" -ge "$n" ]; then
    echo "TV-CHECK ok: smp-guest-nmi"
else
    echo "TV-CHECK FAIL: smp-guest-nmi: $seen of $n CPUs answered the NMI backtrace request"
    dmesg | grep -i nmi | tail -10
fi
