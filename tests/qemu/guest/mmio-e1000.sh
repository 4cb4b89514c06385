# Guest script for the mmio-passthrough-e1000 scenario: every register access of the e1000
# driver is emulated by the monitor. The link must come up, DHCP must get a lease from
# QEMU's user-mode network and the gateway must answer pings.
if ! ip link set eth0 up; then
    echo "TV-CHECK FAIL: link-up: ip link set eth0 up failed"
    ip link
    exit 1
fi
carrier=0
for i in 1 2 3 4 5 6 7 8 9 10; do
    carrier=$(cat /sys/class/net/eth0/carrier 2>/dev/null)
    [ "$carrier" = 1 ] && break
    sleep 0.5
done
echo "eth0: carrier=$carrier operstate=$(cat /sys/class/net/eth0/operstate)"
if [ "$carrier" = 1 ]; then
    echo "TV-CHECK ok: carrier"
else
    echo "TV-CHECK FAIL: carrier: eth0 has no carrier"
fi
if udhcpc -i eth0 -n -q -t 5 -T 2 -s /bin/true 2>&1 | tee /tmp/dhcp | grep -q 'obtained'; then
    echo "TV-CHECK ok: dhcp"
else
    cat /tmp/dhcp
    echo "TV-CHECK FAIL: dhcp: no lease from QEMU's user-mode network"
fi
ip addr add 10.0.2.15/24 dev eth0 2>/dev/null
if ping -c 3 -W 2 10.0.2.2; then
    echo "TV-CHECK ok: ping"
else
    echo "TV-CHECK FAIL: ping: the gateway 10.0.2.2 did not answer"
fi
cat /proc/net/dev | grep eth0
echo "=== thinvisor-ctl log | grep mmio"
thinvisor-ctl log | grep -E 'mmio' | tail -8
