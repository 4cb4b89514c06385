#!/usr/bin/env python3
"""Runs the libFuzzer harnesses (tests/unit/fuzz_NAME.cpp, built as build/unit/fuzz_NAME by
mk/unit.mk) and reports one test per harness, `PASS fuzz/NAME: ...` or `FAIL fuzz/NAME: why`.

Each harness starts from its committed seed corpus, tests/unit/corpus/NAME/ (missing or empty:
a failure). `--seconds S` is the time per harness. By default the new inputs it finds go to a
scratch directory that is removed afterwards, so `make test` runs the same seeds every time;
`--keep-corpus` (make fuzz) grows build/fuzz/NAME/corpus/ across runs instead; `--runs N`
(make fuzz: 10^6) ends a harness early once it has executed N inputs. A crash, a leak,
a sanitizer report, a timeout of one input or a harness that cannot run is a failure; the
input that did it is kept in build/test-results/fuzz/NAME/. `make fuzz` ends with a table of
the executions per harness.

Usable as a module: harnesses(), run_one(name, seconds, keep_corpus) -> (ok, detail, execs).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build", "unit")
CORPUS = os.path.join(HERE, "corpus")
RESULTS = os.path.join(ROOT, "build", "test-results", "fuzz")
KEPT = os.path.join(ROOT, "build", "fuzz")
UNIT_TIMEOUT = 10  # seconds one input may take before libFuzzer calls it a hang
EXECS_RE = re.compile(r"^stat::number_of_executed_units: (\d+)", re.M)
REPORT_RE = re.compile(r"^(==\d+==ERROR: .*|SUMMARY: .*|invariant broken: .*|.*runtime error: .*|"
                       r"ALARM: .*|==\d+== ERROR: libFuzzer: .*)$", re.M)
ARTIFACT_RE = re.compile(r"Test unit written to (\S+)")


def harnesses():
    return sorted(f[len("fuzz_"):-len(".cpp")] for f in os.listdir(HERE)
                  if f.startswith("fuzz_") and f.endswith(".cpp"))


def run_one(name, seconds, keep_corpus=False, runs=0):
    """Returns (ok, detail, executions). runs: stop after that many executions (0: no limit)."""
    binary = os.path.join(BUILD, "fuzz_" + name)
    seeds = os.path.join(CORPUS, name)
    if not os.access(binary, os.X_OK):
        return False, "%s is not built (make fuzz-build)" % os.path.relpath(binary, ROOT), 0
    if not os.path.isdir(seeds) or not os.listdir(seeds):
        return False, "no seed corpus in %s" % os.path.relpath(seeds, ROOT), 0
    out = os.path.join(RESULTS, name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    if keep_corpus:
        work = os.path.join(KEPT, name, "corpus")
        os.makedirs(work, exist_ok=True)
        scratch = None
    else:
        work = scratch = tempfile.mkdtemp(prefix="tv-fuzz-%s-" % name)
    cmd = [binary, "-max_total_time=%d" % seconds, "-print_final_stats=1", "-timeout=%d" % UNIT_TIMEOUT,
           "-rss_limit_mb=2560", "-close_fd_mask=1", "-artifact_prefix=%s/" % out]
    cmd += (["-runs=%d" % runs] if runs else []) + [work, seeds]
    start = time.monotonic()
    try:
        proc = subprocess.run(["timeout", "-k", "10", str(seconds + 120)] + cmd, cwd=ROOT,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        log, rc = proc.stderr.decode("utf-8", "replace"), proc.returncode
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    secs = time.monotonic() - start
    with open(os.path.join(out, "fuzz.log"), "w") as f:
        f.write(log)
    m = EXECS_RE.search(log)
    execs = int(m.group(1)) if m else 0
    if rc == 0 and m:
        return True, "%d executions in %.0f s (%.0f/s), no crash" % (execs, secs, execs / max(secs, 0.001)), execs
    reports = [r.strip() for r in REPORT_RE.findall(log)][:2]
    art = ARTIFACT_RE.search(log)
    why = "; ".join(reports) or ("timed out" if rc in (124, 137) else "exit status %d" % rc)
    if art:
        why += "; input: %s" % os.path.relpath(art.group(1), ROOT)
    return False, "%s after %d executions (log: %s)" % (why[:400], execs,
                                                       os.path.relpath(os.path.join(out, "fuzz.log"), ROOT)), execs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=300, help="time per harness (default 300)")
    ap.add_argument("--runs", type=int, default=0, help="stop a harness after this many executions (0: no limit)")
    ap.add_argument("--keep-corpus", action="store_true",
                    help="grow build/fuzz/NAME/corpus across runs (default: make fuzz does)")
    ap.add_argument("--only", default="", help="harnesses whose name contains this (comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the harnesses and exit")
    args = ap.parse_args(argv)
    names = [n for n in harnesses() if not args.only or any(p and p in n for p in args.only.split(","))]
    if args.list:
        print("\n".join("fuzz/" + n for n in names))
        return 0
    if not names:
        print("FAIL fuzz: no harness matches '%s'" % args.only)
        return 1
    failed, table = 0, []
    for n in names:
        ok, detail, execs = run_one(n, args.seconds, args.keep_corpus, args.runs)
        print("%s fuzz/%s%s %s" % ("PASS" if ok else "FAIL", n, "" if ok else ":", detail), flush=True)
        failed += 0 if ok else 1
        table.append((n, execs, ok))
    print("\nexecutions per harness (%d s each):" % args.seconds)
    for n, execs, ok in table:
        print("  fuzz/%-14s %12d%s" % (n, execs, "" if ok else "  FAILED"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
