#!/usr/bin/env python3
"""make bench: measurements against a peer measured in the same run, written as JSON lines
to build/bench/results.jsonl in the one schema of benchlib.py (docs/bench.md), printed as a
table, drawn in build/bench/report.html, and appended to build/bench/history.jsonl with the
commit id.

This script measures the guest's boot-to-shell time with and without thinvisor (same
image, same QEMU, interleaved runs, median of N) and the exits by reason during that boot,
then runs every other tests/bench/*_bench.py, which append their own lines.

--smoke (make test, through tests/suites/bench_smoke.py): one short run of each bench, to
check that every bench still runs and writes valid lines; no number is judged."""
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
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import qemu_run  # noqa: E402
import report  # noqa: E402

DISK = os.path.join(ROOT, "build", "guest", "disk.img")
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
HISTORY = os.path.join(ROOT, "build", "bench", "history.jsonl")
REPORT = os.path.join(ROOT, "build", "bench", "report.html")
SHELL_MARK = "thinvisor-guest: up"
COUNTS_RE = re.compile(r"power-off: exit counts (.*)$", re.M)
# Benches make test's smoke run leaves out, with the reason.
SMOKE_SKIP = {"vendor_exits": "a Bochs boot of about 5-10 minutes; the Bochs suite covers the same run",
              "vpn_failover": "a boot with two gateways killed and revived; tests/suites/vpn_failover.py runs the same rig"}


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
    before = bl.before_monitor()
    with tempfile.TemporaryDirectory() as work:
        bare, tv, old, counts, old_counts = [], [], [], {}, {}
        for _ in range(runs):  # interleaved, so load changes hit all alike
            if not bl.smoke():  # smoke: one boot under thinvisor, no peer
                bare.append(boot_once(None, machine, work)[0])
            t, counts = boot_once(MONITOR, machine, work)
            tv.append(t)
            if before:
                t, old_counts = boot_once(before, machine, work)
                old.append(t)
    b = statistics.median(bare) if bare else None
    for suffix, times, c in (("", tv, counts), ("_before", old, old_counts)):
        if not times:
            continue
        t = statistics.median(times)
        at = dict(machine=machine, cpu="max", vendor="amd", bench="boot")
        by_reason = {k: int(v) for k, v in c.items()}
        extra = {"exits_by_reason": by_reason}
        if suffix:
            extra["binary"] = bl.before_ref()
        bl.record("boot_to_shell_%s%s" % (machine, suffix), round(t, 3), "s",
                  peer="same guest without thinvisor" if b else None, peer_value=round(b, 3) if b else None,
                  goal=bl.goal("ratio", "<=", 1.3), runs=runs, samples=[round(x, 2) for x in times], extra=extra, **at)
        for reason, n in sorted(by_reason.items()):
            bl.record("boot_exits_%s_%s%s" % (machine, reason.replace("-", "_"), suffix), n, "exits", **at)


def print_table(rows):
    print("%-44s %12s %-10s %12s %8s %s" % ("measurement", "value", "unit", "peer", "ratio", "goal"))
    for r in rows:
        pv = "" if r["peer_value"] is None else r["peer_value"]
        ratio = "" if r["ratio"] is None else r["ratio"]
        g = r["goal"]
        verdict = {True: "met", False: "MISSED", None: "not measured"}[r["met"]]
        goal = "" if not g else "%s %s %s: %s" % (g["of"], g["op"], g["target"], verdict)
        print("%-44s %12s %-10s %12s %8s %s" % (r["name"], r["value"], r["unit"], pv, ratio, goal))


def commit_id():
    try:
        out = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "") if out.returncode == 0 else "unknown"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=None, help="boot runs (default 3; 1 with --smoke)")
    ap.add_argument("--machine", default="q35")
    ap.add_argument("--smoke", action="store_true", help="one short run of each bench (make test)")
    ap.add_argument("--only", default="", help="comma-separated bench names (boot, ata, ahci, ...)")
    args = ap.parse_args()
    if args.smoke:
        os.environ["TV_BENCH_SMOKE"] = "1"
    runs = args.runs or (1 if bl.smoke() else 3)
    os.environ["TV_BENCH_RUNS"] = str(runs)  # the disk benches' runs per configuration
    only = [o for o in args.only.split(",") if o]
    if os.path.exists(bl.RESULTS):
        os.unlink(bl.RESULTS)
    failed, produced = [], {}
    if not only or "boot" in only:
        try:
            boot_bench(runs, args.machine)
        except Exception as e:  # noqa: BLE001 -- recorded as a failed bench, the others still run
            print("bench: boot failed: %s: %s" % (type(e).__name__, e))
            failed.append("boot")
    for other in sorted(glob.glob(os.path.join(HERE, "*_bench.py"))):
        name = os.path.basename(other)[:-len("_bench.py")]
        if only and name not in only:
            continue
        if bl.smoke() and name in SMOKE_SKIP:
            print("bench: %s left out of the smoke run: %s" % (name, SMOKE_SKIP[name]))
            continue
        before = sum(1 for _ in open(bl.RESULTS)) if os.path.exists(bl.RESULTS) else 0
        rc = subprocess.call([sys.executable, other])
        after = sum(1 for _ in open(bl.RESULTS)) if os.path.exists(bl.RESULTS) else 0
        produced[name] = after - before
        if rc:
            print("bench: %s failed with status %d" % (name, rc))
            failed.append(name)
        elif after == before:
            print("bench: %s wrote no result" % name)
            failed.append(name)
    rows = bl.load() if os.path.exists(bl.RESULTS) else []  # SchemaError names a bad line
    print_table(rows)
    if not bl.smoke():
        with open(HISTORY, "a") as f:
            f.write(json.dumps({"commit": commit_id(), "time": int(time.time()), "results": rows}) + "\n")
    history = report.load_history(HISTORY)
    with open(REPORT, "w") as f:
        f.write(report.render(rows, history, commit_id()))
    print("bench: %d results; report %s" % (len(rows), os.path.relpath(REPORT, os.getcwd())))
    # The others still ran and were recorded, but a broken bench must not pass as measured.
    if failed:
        print("bench: %d bench(es) failed: %s" % (len(failed), ", ".join(failed)))
        sys.exit(1)


if __name__ == "__main__":
    main()
