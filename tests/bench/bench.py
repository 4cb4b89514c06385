#!/usr/bin/env python3
"""make bench: measurements against a peer measured in the same run, written as JSON lines
to build/bench/results.jsonl (one object per measurement) and printed as a table.

This script measures the guest's boot-to-shell time with and without thinvisor (same
image, same QEMU, interleaved runs, median of N) and the exits by reason during that boot,
then runs every other tests/bench/*_bench.py, which append their own lines."""
import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import qemu_run  # noqa: E402

RESULTS = os.path.join(ROOT, "build", "bench", "results.jsonl")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
SHELL_MARK = "thinvisor-guest: up"
COUNTS_RE = re.compile(r"power-off: exit counts (.*)$", re.M)


def record(obj):
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(obj) + "\n")


def boot_once(monitor, machine, workdir):
    """Seconds from QEMU start until the guest's init reaches its shell, and the monitor's
    power-off exit counts (if any)."""
    script = os.path.join(workdir, "poweroff.sh")
    with open(script, "w") as f:
        f.write("poweroff -f\n")
    out = os.path.join(workdir, "run-%s" % ("tv" if monitor else "bare"))
    os.makedirs(out, exist_ok=True)
    console = os.path.join(out, "console.log")
    monlog = os.path.join(out, "monitor.log")
    for p in (console, monlog):
        if os.path.exists(p):
            os.unlink(p)
    cmd = qemu_run.qemu_command(machine, "max", "512M", monitor or "none", None, DISK, script,
                                "file:" + console, "file:" + monlog, ())
    start = time.monotonic()
    proc = subprocess.Popen(["timeout", "-k", "5", "240"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    up = None
    while proc.poll() is None:
        if up is None and os.path.exists(console):
            with open(console, "rb") as f:
                if SHELL_MARK.encode() in f.read():
                    up = time.monotonic() - start
        time.sleep(0.05)
    if up is None:
        raise RuntimeError("the guest never reached its shell (%s)" % out)
    counts = {}
    if monitor:
        with open(monlog, errors="replace") as f:
            m = COUNTS_RE.search(f.read())
        if m:
            counts = dict(kv.split("=") for kv in m.group(1).split())
    return up, counts


def boot_bench(runs, machine):
    with tempfile.TemporaryDirectory() as work:
        bare, tv, counts = [], [], {}
        for _ in range(runs):  # interleaved, so load changes hit both alike
            bare.append(boot_once(None, machine, work)[0])
            t, counts = boot_once(MONITOR, machine, work)
            tv.append(t)
    b, t = statistics.median(bare), statistics.median(tv)
    record({"name": "boot_to_shell_%s" % machine, "value": round(t, 3), "unit": "s",
            "peer": "same guest without thinvisor", "peer_value": round(b, 3),
            "ratio": round(t / b, 3), "goal": "ratio <= 1.3", "runs": runs})
    for reason, n in sorted(counts.items()):
        record({"name": "boot_exits_%s_%s" % (machine, reason), "value": int(n), "unit": "exits",
                "peer": None, "peer_value": None, "ratio": None})


def print_table():
    rows = [json.loads(l) for l in open(RESULTS)]
    print("%-40s %12s %-6s %12s %8s" % ("measurement", "value", "unit", "peer", "ratio"))
    for r in rows:
        pv = "" if r.get("peer_value") is None else r["peer_value"]
        ratio = "" if r.get("ratio") is None else r["ratio"]
        print("%-40s %12s %-6s %12s %8s" % (r["name"], r["value"], r["unit"], pv, ratio))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--machine", default="q35")
    args = ap.parse_args()
    if os.path.exists(RESULTS):
        os.unlink(RESULTS)
    boot_bench(args.runs, args.machine)
    failed = []
    for other in sorted(glob.glob(os.path.join(HERE, "*_bench.py"))):
        rc = subprocess.call([sys.executable, other])
        if rc:
            print("bench: %s failed with status %d" % (os.path.basename(other), rc))
            failed.append(os.path.basename(other))
    print_table()
    # The others still ran and were recorded, but a broken bench must not pass as measured.
    if failed:
        print("bench: %d bench(es) failed: %s" % (len(failed), ", ".join(failed)))
        sys.exit(1)


if __name__ == "__main__":
    main()
