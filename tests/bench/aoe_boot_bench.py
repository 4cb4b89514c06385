#!/usr/bin/env python3
"""The AoE disk's cost (run by tests/bench/bench.py; docs/aoe.md).

vblade in a private namespace serves a copy of build/guest/disk.img; QEMU -machine pc (TCG,
-cpu max, 512 MiB) runs thinvisor. In the same run:
  - boot: QEMU start to the guest's "thinvisor-guest: up", booting from the AoE disk (no local
    disk) and from a local IDE disk holding the same image (thinvisor with [network] only, so
    the NIC is mediated alike); the ratio aoe/local.
  - read: the guest reads MB MiB sequentially from /dev/sda (the AoE disk through thinvisor),
    then, in the same guest, from /dev/etherd/e1.2 with its own kernel `aoe` driver on the
    same vblade export (page cache dropped before each); MB/s by host wall clock between
    console markers, and the ratio thinvisor/guest-aoe.
  - exits per MiB of the thinvisor read (thinvisor-ctl counters around it).
  - AoE retransmissions per MiB over the whole run (boot and read, a quiet network): the
    monitor's power-off line `aoe-disk: network: N frames out, R retransmits`, each frame
    carrying 1 KiB at MTU 1500 (issue 22, item 3).
Appends JSON lines to build/bench/results.jsonl."""
import argparse
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import aoe_boot as ab  # noqa: E402


LOCAL_CONF = ab.CONF.split("[aoe]")[0]

# Times come from the guest's /proc/uptime (the TSC runs at wall speed under the monitor,
# also while a command waits for the network); exits are every exit reason summed.
SCRIPT = r"""
total() { thinvisor-ctl counters | awk '$1 !~ /^(hidden-access|io-passthrough|io-emulated|total)$/ {s += $2} END {print s}'; }
up() { cut -d' ' -f1 /proc/uptime; }
sync; echo 3 > /proc/sys/vm/drop_caches
c0=$(total); t0=$(up)
dd if=/dev/sda of=/dev/null bs=1M count=%(mb)d 2>/dev/null
t1=$(up); c1=$(total)
echo "BENCH-R1 $t0 $t1 $c0 $c1"
ip link set eth0 up
modprobe aoe
i=0
while [ ! -b /dev/etherd/e%(shelf)d.%(slot)d ] && [ $i -lt 100 ]; do sleep 0.2; i=$((i+1)); done
echo 3 > /proc/sys/vm/drop_caches
t2=$(up)
dd if=/dev/etherd/e%(shelf)d.%(slot)d of=/dev/null bs=1M count=%(mb)d 2>/dev/null
rc=$?
t3=$(up)
echo "BENCH-R2 $t2 $t3 $rc"
"""



def stamp(m, pattern, seconds):
    """Host time when the pattern first shows on the console."""
    if not m.wait_for(pattern, seconds):
        raise RuntimeError("no %r on the console (tail %r)" % (pattern, m.console[-400:]))
    return time.monotonic()


def aoe_run(mb):
    net = nl.Net("abb").setup()
    srv = m = None
    try:
        srv = ab.Server(net)
        srv.start()
        m = ab.Machine(net, "aoe", SCRIPT % {"mb": mb, "shelf": ab.SHELF, "slot": ab.SLOT})
        up = stamp(m, rb"thinvisor-guest: up", 400) - m.started
        r1 = m.wait_for(rb"BENCH-R1 ([\d.]+) ([\d.]+) (\d+) (\d+)", 1200)
        r2 = m.wait_for(rb"BENCH-R2 ([\d.]+) ([\d.]+) (\d+)", 1200)
        log = m.finish()
        m.save("bench")
        net_line = re.search(r"aoe-disk: network: (\d+) frames out, (\d+) retransmits", log)
        retx = (int(net_line.group(1)), int(net_line.group(2))) if net_line else None
        if not r1 or not r2 or r2.group(3) != b"0":
            raise RuntimeError("the reads did not complete (see build/test-results/aoe_boot/bench)")
        tv_rate = mb / (float(r1.group(2)) - float(r1.group(1)))
        guest_rate = mb / (float(r2.group(2)) - float(r2.group(1)))
        exits = (int(r1.group(4)) - int(r1.group(3))) / mb
        return up, tv_rate, guest_rate, exits, retx
    finally:
        if m:
            nl.Net.kill(m.proc)
        if srv:
            srv.stop()
        net.cleanup()


def local_run():
    net = nl.Net("abl").setup()
    m = None
    try:
        img = net.path("local.img")
        shutil.copyfile(ab.DISK, img)
        m = ab.Machine(net, "local", "echo BENCH-LOCAL\n", conf_text=LOCAL_CONF,
                       extra=["-drive", "file=%s,format=raw,if=ide" % img])
        up = stamp(m, rb"thinvisor-guest: up", 400) - m.started
        m.finish()
        return up
    finally:
        if m:
            nl.Net.kill(m.proc)
        net.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=2 if bl.smoke() else 32)
    args = ap.parse_args()
    boot_aoe, r_tv, r_guest, exits, retx = aoe_run(args.mb)
    boot_local = None if bl.smoke() else local_run()  # smoke: one boot, no peer
    at = dict(machine="pc", cpu="max", vendor="amd")
    res = [
        bl.record("aoe_boot_to_up_s", round(boot_aoe, 2), "s",
                  peer="the same guest from a local IDE disk (BIOS PIO)" if boot_local else None,
                  peer_value=round(boot_local, 2) if boot_local else None, **at),
        bl.record("aoe_seq_read_MBps", round(r_tv, 2), "MB/s", peer="the guest's own aoe driver, same target",
                  peer_value=round(r_guest, 2), goal=bl.goal("ratio", ">=", 1.0), extra={"mb": args.mb}, **at),
    ]
    if exits is not None:
        res.append(bl.record("aoe_seq_read_exits_per_MiB", round(exits, 1), "exits/MiB", extra={"mb": args.mb}, **at))
    if retx and retx[0]:
        res.append(bl.record("aoe_retransmits_per_MiB", round(retx[1] / (retx[0] / 1024.0), 2), "retransmits/MiB",
                             extra={"frames_out": retx[0], "retransmits": retx[1]}, **at))
    for r in res:
        print("%-32s %8s %-16s peer %s" % (r["name"], r["value"], r["unit"], r["peer_value"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
