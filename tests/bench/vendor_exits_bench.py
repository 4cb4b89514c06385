#!/usr/bin/env python3
"""Exit counts by reason for the same guest boot on both vendors, side by side: the Bochs
guest image with the monitor-check script, booted under thinvisor on Intel (Bochs, Haswell
model, VMX) and on AMD (QEMU TCG, -cpu max, SVM). Appends one JSON line per reason to
build/bench/results.jsonl with the Intel count as value and the AMD count as its peer."""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import bochs  # noqa: E402  (the Bochs suite's run machinery)

COUNTS_RE = re.compile(r"power-off: exit counts (.*)$", re.M)


def counts_of(monlog):
    m = COUNTS_RE.search(monlog)
    return dict(kv.split("=") for kv in m.group(1).split()) if m else None


def intel_counts(tmp):
    run = next(r for r in bochs.RUNS if r.name == "bochs-haswell")
    iso = bochs.build_iso(tmp, run.cmdline)
    _, r, problems = bochs.one(run, iso, tmp, False)
    if problems:
        raise RuntimeError("Bochs run failed: %s" % "; ".join(problems))
    return counts_of(r["monitor"])


def amd_counts(tmp):
    disk = bochs.build_disk(tmp)  # the same image and script as the Bochs run
    monlog = os.path.join(tmp, "amd-monitor.log")
    cmd = ["timeout", "-k", "5", "300", "qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-cpu", "max",
           "-m", "512M", "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults", "-vga", "std",
           "-serial", "file:" + os.path.join(tmp, "amd-console.log"), "-serial", "file:" + monlog,
           "-kernel", bochs.MONITOR, "-drive", "file=%s,format=raw" % disk]
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(monlog, errors="replace") as f:
        return counts_of(f.read())


def main():
    with tempfile.TemporaryDirectory(prefix="tv-vendor-bench-") as tmp:
        intel = intel_counts(tmp)
        amd = amd_counts(tmp)
    if not intel or not amd:
        print("vendor_exits_bench: missing power-off counts (intel=%s amd=%s)" % (bool(intel), bool(amd)))
        return 1
    for reason in sorted(set(intel) | set(amd)):
        i, a = int(intel.get(reason, 0)), int(amd.get(reason, 0))
        bl.record("exits_intel_vs_amd_%s" % reason.replace("-", "_"), i, "exits",
                  peer="AMD (QEMU pc, -cpu max, SVM), same guest boot", peer_value=a, machine="bochs",
                  cpu="corei7_haswell_4770", vendor="intel", extra={"amd": a})
    return 0


if __name__ == "__main__":
    sys.exit(main())
