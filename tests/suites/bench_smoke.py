#!/usr/bin/env python3
"""make test's check of make bench: every bench runs once in its smoke mode (one short run,
tests/bench/bench.py --smoke) and must write lines in the one schema (tests/bench/benchlib.py);
report.html must be written. No number is judged: speed belongs to make bench.

Prints one `PASS bench/NAME` or `FAIL bench/NAME: why` per bench, plus bench/schema and
bench/report."""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "bench"))
import benchlib as bl  # noqa: E402

LOG = os.path.join(ROOT, "build", "test-results", "bench_smoke")
REPORT = os.path.join(ROOT, "build", "bench", "report.html")
TIMEOUT = 1500


def main():
    os.makedirs(LOG, exist_ok=True)
    log = os.path.join(LOG, "bench.log")
    if os.path.exists(REPORT):
        os.unlink(REPORT)
    with open(log, "w") as f:
        try:
            rc = subprocess.call(["timeout", "-k", "10", str(TIMEOUT), sys.executable,
                                  os.path.join(ROOT, "tests", "bench", "bench.py"), "--smoke"],
                                 cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        except OSError as e:
            print("FAIL bench/run: %s" % e)
            return 1
    with open(log, errors="replace") as f:
        text = f.read()
    failed = 0
    try:
        rows = bl.load()
        print("PASS bench/schema: %d lines, each valid" % len(rows))
    except (OSError, bl.SchemaError) as e:
        print("FAIL bench/schema: %s" % e)
        rows, failed = [], 1
    benches = ["boot"] + sorted(f[:-len("_bench.py")] for f in os.listdir(os.path.join(ROOT, "tests", "bench"))
                                if f.endswith("_bench.py"))
    by_bench = {}
    for r in rows:
        by_bench.setdefault(r["bench"], []).append(r["name"])
    for b in benches:
        skipped = re.search(r"^bench: %s left out of the smoke run: (.*)$" % re.escape(b), text, re.M)
        broke = re.search(r"^bench: %s (failed with status \d+|failed: .*|wrote no result)$" % re.escape(b), text, re.M)
        if skipped:
            print("PASS bench/%s: left out of the smoke run (%s)" % (b, skipped.group(1)))
        elif broke or not by_bench.get(b):
            failed += 1
            print("FAIL bench/%s: %s (log %s)" % (b, broke.group(1) if broke else "no result lines",
                                                  os.path.relpath(log, ROOT)))
        else:
            print("PASS bench/%s: %d lines" % (b, len(by_bench[b])))
    if os.path.exists(REPORT) and os.path.getsize(REPORT) > 1000 and "<svg" in open(REPORT).read():
        print("PASS bench/report: %s written" % os.path.relpath(REPORT, ROOT))
    else:
        failed += 1
        print("FAIL bench/report: no report.html (bench.py exit %d)" % rc)
    if rc != 0 and not failed:
        failed += 1
        print("FAIL bench/run: bench.py --smoke exited %d" % rc)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
