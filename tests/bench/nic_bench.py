#!/usr/bin/env python3
"""Guest TCP throughput through the e1000 mediator (run by tests/bench/bench.py).

QEMU q35 (TCG, -cpu max, 512 MiB), an e1000 on a tap in a private network namespace; the
guest sends MB MiB of random data (made in tmpfs first) with busybox nc to a host listener.
Two configurations in the same run: `mediated` (thinvisor with a [network] section) and
`bare` (no thinvisor, the peer). Also the VM exits per MiB in the mediated run (thinvisor-ctl
counters before and after the transfer). Appends JSON lines to build/bench/results.jsonl."""
import argparse
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import net_guest  # noqa: E402




def total_exits(g):
    """Exits by reason summed (io-passthrough/io-emulated split `io`, so they are left out)."""
    out, rc = g.run("thinvisor-ctl counters", 30)
    pairs = re.findall(r"^([\w-]+) (\d+)$", out, re.M)
    return sum(int(v) for k, v in pairs if not k.startswith("io-")) if rc == 0 and pairs else None


def run(work, mediated, mb):
    """(MB/s, exits per MiB or None) for one configuration."""
    net = nl.Net("nb").setup()
    g = None
    try:
        net.udhcpd()
        lis = net_guest.Listener(net, mb << 20)
        lis.start()
        g = nl.Guest(net, work, conf_text=net_guest.CONF if mediated else None, machine="q35",
                     guest_mac=net_guest.GUEST_MAC, monitor=mediated, timeout=1500)
        if not g.wait_shell(300) or not g.dhcp(90):
            raise RuntimeError("guest without network (console tail %r)" % g.console[-500:])
        out, rc = g.run("dd if=/dev/urandom of=/tmp/blob bs=1M count=%d 2>/dev/null" % mb, 600)
        e0 = total_exits(g) if mediated else None
        t0 = time.monotonic()
        out, rc = g.run("nc %s %d < /tmp/blob" % (net.host_ip, net_guest.PORT), 1200)
        lis.join(120)
        secs = time.monotonic() - t0
        e1 = total_exits(g) if mediated else None
        if lis.got != mb << 20:
            raise RuntimeError("transfer incomplete: %d of %d bytes" % (lis.got, mb << 20))
        exits = (e1 - e0) / mb if e0 is not None and e1 is not None else None
        return (mb * 1.048576) / secs, exits
    finally:
        if g:
            g.kill()
        net.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=2 if bl.smoke() else 32)
    args = ap.parse_args()
    res = {}
    for mode in ("mediated",) if bl.smoke() else ("bare", "mediated"):  # smoke: one boot, no peer
        with tempfile.TemporaryDirectory() as work:
            res[mode] = run(work, mode == "mediated", args.mb)
    bare, (med, exits) = res["bare"][0] if "bare" in res else None, res["mediated"]
    at = dict(machine="q35", cpu="max", vendor="amd", extra={"mb": args.mb})
    bl.record("nic_tcp_tx_MBps", round(med, 2), "MB/s", peer="same guest without thinvisor" if bare else None,
              peer_value=round(bare, 2) if bare else None, goal=bl.goal("ratio", ">=", 0.8), **at)
    if exits is not None:
        bl.record("nic_tcp_tx_exits_per_MiB", round(exits, 1), "exits/MiB", goal=bl.goal("value", "<=", 300), **at)
    print("nic tcp tx  mediated %6.2f MB/s  bare %6.2f MB/s  ratio %.2f  %s exits/MiB"
          % (med, bare or 0, med / bare if bare else 0, "%.0f" % exits if exits is not None else "?"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
