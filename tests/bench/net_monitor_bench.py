#!/usr/bin/env python3
"""The monitor's answer latency on the shared NIC (docs/net.md, "Polling and latency").

The monitor has no timer interrupt: it handles its own frames only on VM exits. This measures
the host's ping of the monitor's address with the guest idle at its shell and with the guest
busy on the same NIC (pinging the host every 50 ms), against the host's ping of the guest
itself in the same run as the peer. Appends JSON lines to build/bench/results.jsonl."""
import os
import re
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import net_monitor as nm  # noqa: E402

COUNT = 5 if bl.smoke() else 20



def host_ping(net, ip, name):
    p = net.spawn(["busybox", "ping", "-c", str(COUNT), "-i", "0.5", "-w", "60", ip], 75, name)
    p.wait(80)
    with open(net.path(name)) as f:
        out = f.read()
    got = re.search(r"(\d+) packets received", out)
    rtt = re.search(r"min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+)", out)
    if not got or not rtt:
        return None
    samples = [float(x) for x in re.findall(r"time=([\d.]+) ms", out)]
    return int(got.group(1)), float(rtt.group(2)), float(rtt.group(3)), samples


def main():
    if os.geteuid() != 0:
        print("net_monitor_bench: needs root; skipped")
        return 0
    work = tempfile.mkdtemp(prefix="tvnetbench")
    net = nl.Net("nb").setup()
    g = None
    try:
        conf = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
                % (nm.MON_MAC, nm.STATIC_IP, net.host_ip))
        g = nl.Guest(net, work, conf_text=conf, machine="q35", guest_mac=nm.GUEST_MAC, timeout=900)
        if not g.wait_shell(300):
            print("net_monitor_bench: the guest did not reach its shell")
            return 1
        g.run("ip link set eth0 up && ip addr add %s/24 dev eth0" % nm.GUEST_IP, 60)
        results = {}
        for load in ("idle", "busy"):
            if load == "busy":
                g.run("(ping -c 1200 -i 0.05 %s > /dev/null 2>&1 &)" % net.host_ip, 30)
            results[load] = (host_ping(net, nm.STATIC_IP, "mon-%s.log" % load),
                             host_ping(net, nm.GUEST_IP, "guest-%s.log" % load))
        for load, (mon, guest) in results.items():
            if not mon or not guest:
                print("net_monitor_bench: %s: no ping statistics (monitor %s, guest %s)" % (load, mon, guest))
                continue
            bl.record("net_monitor_ping_rtt_guest_%s_ms" % load, mon[1], "ms", peer="host ping of the guest, same run",
                      peer_value=guest[1], runs=mon[0], samples=mon[3] or None, machine="q35", cpu="max",
                      vendor="amd", goal=bl.goal("value", "<=", 10),
                      extra={"max_ms": mon[2], "received": mon[0], "sent": COUNT, "guest_samples": guest[3]})
            print("monitor ping, guest %-4s: avg %8.2f ms max %8.2f ms (%d/%d); guest's own avg %8.2f ms"
                  % (load, mon[1], mon[2], mon[0], COUNT, guest[1]))
    finally:
        if g:
            g.kill()
        net.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
