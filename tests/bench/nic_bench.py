#!/usr/bin/env python3
"""Guest TCP throughput through the e1000 mediator (run by tests/bench/bench.py).

QEMU q35 (TCG, -cpu max, 512 MiB), an e1000 on a tap in a private network namespace; the
guest sends MB MiB of random data (made in tmpfs first) with busybox nc to a host listener.
Then the guest fetches as much from a host HTTP server with busybox wget (receive). Configurations
in the same run: `mediated` (thinvisor with a [network] section), `bare` (no thinvisor, the
peer) and, with make bench BEFORE=REF, `before` (the older monitor). Also the VM exits per
MiB in the mediated runs (thinvisor-ctl counters before and after each transfer) and the NIC's
device counters over it: its BAR0 accesses that exited, by register. Appends JSON lines to
build/bench/results.jsonl."""
import argparse
import os
import re
import socket
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import net_guest  # noqa: E402




RX_PORT = 5002


def counters(g, what="counters"):
    """thinvisor-ctl's 'name value' lines as a dict (exit counters, or device-counters)."""
    out, rc = g.run("thinvisor-ctl %s" % what, 30)
    return {k: int(v) for k, v in re.findall(r"^([\w-]+) (\d+)$", out, re.M)} if rc == 0 else {}


def tcp_counters(g):
    """The guest's TCP counters (/proc/net/snmp's Tcp lines): segments out, in, retransmitted."""
    out, rc = g.run("grep Tcp: /proc/net/snmp", 30)
    rows = [l.split()[1:] for l in out.splitlines() if l.startswith("Tcp:")]
    if rc != 0 or len(rows) < 2:
        return {}
    return {k: int(v) for k, v in zip(rows[0], rows[1]) if v.lstrip("-").isdigit()}


class Phase:
    """Exits and the NIC's device counters (its BAR0 accesses that exited, by register; the
    guest TSO packets and checksum requests it let through) over one transfer, and the guest's
    TCP segments (sent, received, retransmitted: a loss on the path shows there)."""

    def __init__(self, g, mediated):
        self.g, self.mediated = g, mediated
        self.t0 = tcp_counters(g)
        self.c0 = counters(g) if mediated else {}
        self.d0 = counters(g, "device-counters") if mediated else {}

    def end(self, mb):
        """(exits per MiB or None, {counter: change}: the NIC's device counters and the exits
        by reason, and the guest's TCP segments)."""
        t1 = tcp_counters(self.g)
        moved = {"tcp-" + k: t1[k] - self.t0[k] for k in ("OutSegs", "InSegs", "RetransSegs") if k in t1 and k in self.t0}
        if not self.mediated:
            return None, moved
        c1, d1 = counters(self.g), counters(self.g, "device-counters")
        exits = None
        if self.c0 and c1:
            exits = sum(c1[k] - self.c0.get(k, 0) for k in c1 if not k.startswith("io-")) / mb
        moved.update({k: d1[k] - self.d0.get(k, 0) for k in d1 if k.startswith("nic-")})
        moved.update({"exit-" + k: c1[k] - self.c0.get(k, 0) for k in c1 if c1[k] != self.c0.get(k, 0)})
        return exits, moved


def tx(g, net, mb, mediated):
    """The guest sends mb MiB to a host listener: (MB/s, exits/MiB, NIC counters)."""
    lis = net_guest.Listener(net, mb << 20)
    lis.start()
    ph = Phase(g, mediated)
    t0 = time.monotonic()
    g.run("nc %s %d < /tmp/blob" % (net.host_ip, net_guest.PORT), 600)
    lis.join(120)
    secs = time.monotonic() - t0
    exits, nic = ph.end(mb)
    if lis.got != mb << 20:
        raise RuntimeError("tx incomplete: %d of %d bytes (console tail %r)" % (lis.got, mb << 20, g.console[-300:]))
    return (mb * 1.048576) / secs, exits, nic


class Server(threading.Thread):
    """Serves one HTTP GET in the namespace: nbytes of random data (the guest's receive)."""

    def __init__(self, net, nbytes):
        super().__init__(daemon=True)
        self.s = net.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((net.host_ip, RX_PORT))
        self.s.listen(1)
        self.s.settimeout(600)
        self.nbytes, self.error = nbytes, None

    def run(self):
        try:
            c, _ = self.s.accept()
            c.settimeout(600)
            req = b""
            while b"\r\n\r\n" not in req:
                part = c.recv(4096)
                if not part:
                    raise OSError("request cut short")
                req += part
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % self.nbytes)
            chunk = os.urandom(1 << 20)
            for off in range(0, self.nbytes, len(chunk)):
                c.sendall(chunk[:self.nbytes - off])
            c.close()
        except OSError as e:
            self.error = str(e)
        finally:
            self.s.close()


def rx(g, net, mb, mediated):
    """The guest fetches mb MiB from the host with busybox wget: (MB/s, exits/MiB, NIC counters)."""
    srv = Server(net, mb << 20)
    srv.start()
    ph = Phase(g, mediated)
    t0 = time.monotonic()
    out, rc = g.run("wget -q -O - http://%s:%d/blob | wc -c" % (net.host_ip, RX_PORT), 600)
    secs = time.monotonic() - t0
    srv.join(60)
    exits, nic = ph.end(mb)
    counted = out.split()[-1] if out.split() else ""
    if rc != 0 or counted != str(mb << 20):
        raise RuntimeError("rx incomplete: the guest counted %r of %d bytes (%s)" % (out, mb << 20, srv.error))
    return (mb * 1.048576) / secs, exits, nic


def run(work, mediated, mb, elf=None, append=None):
    """{"tx": (MB/s, exits/MiB, nic counters), "rx": ...} for one configuration, one boot;
    append: the monitor's command line (a variant)."""
    net = nl.Net("nb").setup()
    g = None
    old = nl.MONITOR
    old_append = os.environ.get("TV_MONITOR_APPEND")
    if append is not None:
        os.environ["TV_MONITOR_APPEND"] = append
    try:
        net.udhcpd()
        if elf:
            nl.MONITOR = elf  # the older monitor of make bench BEFORE=REF
        g = nl.Guest(net, work, conf_text=net_guest.CONF if mediated else None, machine="q35",
                     guest_mac=net_guest.GUEST_MAC, monitor=mediated, timeout=1500)
        nl.MONITOR = old
        ip = g.wait_shell(300) and g.dhcp(90)
        if not ip:
            raise RuntimeError("guest without network (console tail %r)" % g.console[-500:])
        g.run("dmesg -n 1", 30)  # the kernel's console messages would mix with the commands' output
        g.run("dd if=/dev/urandom of=/tmp/blob bs=1M count=%d 2>/dev/null" % mb, 600)
        res = {"tx": tx(g, net, mb, mediated)}
        g.run("rm /tmp/blob", 30)
        res["rx"] = rx(g, net, mb, mediated)
        return res
    finally:
        nl.MONITOR = old
        if append is not None:
            if old_append is None:
                os.environ.pop("TV_MONITOR_APPEND", None)
            else:
                os.environ["TV_MONITOR_APPEND"] = old_append
        if g:
            g.kill()
        net.cleanup()


def show_variants(direction, res, variants):
    """The variants' lines (printed, not recorded: a look at a setting, against bare and
    the default in the same run)."""
    bare = res["bare"][direction][0] if "bare" in res else None
    for name, append in variants:
        mbps, exits, nic = res[name][direction]
        print("nic tcp %s %-9s %6.2f MB/s  bare %6.2f MB/s  ratio %.2f  %s exits/MiB  (%s)  %s"
              % (direction, name, mbps, bare or 0, mbps / bare if bare else 0,
                 "%.0f" % exits if exits is not None else "?", append,
                 " ".join("%s=%d" % kv for kv in sorted(nic.items()) if kv[1])))


def record(direction, res, mb, before):
    """The lines of one direction: mediated against bare, exits per MiB (with the exits by
    register in extra), and the older monitor's when make bench has one."""
    at = dict(machine="q35", cpu="max", vendor="amd")
    bare = res["bare"][direction][0] if "bare" in res else None
    for mode, suffix in (("mediated", ""), ("before", "_before")):
        if mode not in res:
            continue
        mbps, exits, nic = res[mode][direction]
        extra = {"mb": mb, "counters": nic}
        if suffix:
            extra["binary"] = bl.before_ref()
        bl.record("nic_tcp_%s_MBps%s" % (direction, suffix), round(mbps, 2), "MB/s",
                  peer="same guest without thinvisor" if bare else None, peer_value=round(bare, 2) if bare else None,
                  goal=bl.goal("ratio", ">=", 0.8), extra=extra, **at)
        if exits is not None:
            bl.record("nic_tcp_%s_exits_per_MiB%s" % (direction, suffix), round(exits, 1), "exits/MiB",
                      goal=bl.goal("value", "<=", 300), extra=extra, **at)
        print("nic tcp %s %-9s %6.2f MB/s  bare %6.2f MB/s  ratio %.2f  %s exits/MiB  %s"
              % (direction, mode, mbps, bare or 0, mbps / bare if bare else 0,
                 "%.0f" % exits if exits is not None else "?", " ".join("%s=%d" % kv for kv in sorted(nic.items()) if kv[1])))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=2 if bl.smoke() else 32)
    ap.add_argument("--modes", default=None, help="comma-separated subset of bare,mediated,before")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=CMDLINE",
                    help="one more mediated run with this monitor command line (printed only)")
    args = ap.parse_args()
    variants = [tuple(v.split("=", 1)) for v in args.variant]
    before = bl.before_monitor()
    modes = ["mediated"] if bl.smoke() else ["bare", "mediated"] + (["before"] if before else [])
    if args.modes:
        modes = [m for m in args.modes.split(",") if m != "before" or before]
    modes += [name for name, _ in variants]
    appends = dict(variants)
    res = {}
    for mode in modes:  # smoke: one boot, no peer
        for attempt in (1, 2):  # a boot that hangs early under load (seen with and without the mediator) is retried once
            try:
                with tempfile.TemporaryDirectory() as work:
                    res[mode] = run(work, mode != "bare", args.mb, elf=before if mode == "before" else None,
                                    append=appends.get(mode))
                break
            except RuntimeError as e:
                if attempt == 2 or "guest without network" not in str(e):
                    raise
                print("nic %s: boot failed, once more (%s)" % (mode, str(e)[:120]), flush=True)
        print("nic %s: %r" % (mode, res[mode]), flush=True)
    for direction in ("tx", "rx"):
        record(direction, res, args.mb, before)
        show_variants(direction, res, variants)
    return 0


if __name__ == "__main__":
    sys.exit(main())
