#!/usr/bin/env python3
"""thinvisor test runner (make test).

Runs (a) the host unit tests, build/unit/unit_tests (GoogleTest; each gtest test counts as
one test), if that binary exists, and (b) every QEMU scenario of tests/qemu/scenarios.py,
each one test, a few at a time. Prints `PASS name` or `FAIL name: reason` per test and ends
with exactly one line `N passed, N failed`; exit status 1 if anything failed.

Logs: build/test-results/<name>/ (console.log = guest COM1, monitor.log = thinvisor COM2,
qemu.log, result.json); unit test output in build/test-results/unit/output.log.
"""
import argparse
import concurrent.futures
import fnmatch
import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(HERE, "qemu"))

import qemu_run  # noqa: E402
import scenarios  # noqa: E402

UNIT_BIN = os.path.join(ROOT, "build", "unit", "unit_tests")
RESULTS = os.path.join(ROOT, "build", "test-results")
UNIT_TIMEOUT = 600

_print_lock = threading.Lock()


def say(line):
    with _print_lock:
        print(line, flush=True)


def rel(path):
    return os.path.relpath(path, os.getcwd()) if path.startswith(ROOT) else path


def matches(name, patterns):
    """--only: comma-separated globs or substrings."""
    if not patterns:
        return True
    for p in patterns.split(","):
        p = p.strip()
        if not p:
            continue
        if any(c in p for c in "*?[") and fnmatch.fnmatch(name, p):
            return True
        if p in name:
            return True
    return False


def run_unit():
    """Returns (passed, failed). Each gtest test is one test."""
    out_dir = os.path.join(RESULTS, "unit")
    os.makedirs(out_dir, exist_ok=True)
    log = os.path.join(out_dir, "output.log")
    try:
        proc = subprocess.run([UNIT_BIN, "--gtest_brief=1"], cwd=ROOT,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=UNIT_TIMEOUT)
        text, rc = proc.stdout.decode("utf-8", "replace"), proc.returncode
    except subprocess.TimeoutExpired as e:
        text = (e.stdout or b"").decode("utf-8", "replace")
        rc = None
    with open(log, "w") as f:
        f.write(text)

    passed = 0
    m = re.search(r"^\[  PASSED  \] (\d+) tests?\.", text, re.M)
    if m:
        passed = int(m.group(1))
    failed_names = []
    m = re.search(r"^\[  FAILED  \] (\d+) tests?, listed below:\s*$", text, re.M)
    if m:
        for line in text[m.end():].splitlines():
            f = re.match(r"^\[  FAILED  \] (\S+)", line)
            if f:
                failed_names.append(f.group(1))
            elif line.strip() and not line.startswith("["):
                break
        # gtest lists each failed test once; trust the count if the listing looks odd
        n = int(m.group(1))
        if len(failed_names) < n:
            failed_names += ["(unnamed failure %d)" % i for i in range(n - len(failed_names))]
    for name in failed_names:
        say("FAIL unit/%s: gtest failure (log: %s)" % (name, rel(log)))
    failed = len(failed_names)
    if rc is None:
        say("FAIL unit_tests: timed out after %ds (log: %s)" % (UNIT_TIMEOUT, rel(log)))
        failed += 1
    elif rc != 0 and not failed_names:
        say("FAIL unit_tests: exited with status %d without a gtest failure summary "
            "(crash?) (log: %s)" % (rc, rel(log)))
        failed += 1
    if passed:
        say("PASS unit_tests: %d gtest tests passed" % passed)
    elif not failed:
        say("FAIL unit_tests: no gtest summary found (log: %s)" % rel(log))
        failed += 1
    return passed, failed


def run_scenario(sc, timeout_override=None):
    out = os.path.join(RESULTS, sc.name)
    result = qemu_run.run(out, machine=sc.machine, cpu=sc.cpu, mem=sc.mem,
                          monitor=sc.monitor or "none", append=sc.append, disk=sc.disk,
                          script=sc.script,
                          timeout=timeout_override or sc.timeout,
                          stop_on=sc.stop_on, extra=sc.extra, settle=sc.settle)
    try:
        problems = sc.check(out, result)
    except Exception as e:  # a broken check is a failure, not a crash of the runner
        problems = ["check raised %s: %s" % (type(e).__name__, e)]
    if not os.path.isfile(sc.disk) and any("disk image not found" in p for p in problems):
        problems.append("build the guest first: tools/guest/build-guest.sh")
    return sc, result, out, problems


SUITES_DIR = os.path.join(ROOT, "tests", "suites")
SUITE_LINE = re.compile(r"^(PASS|FAIL) (\S+?):?(\s.*)?$")
SUITE_TIMEOUT = 1800
SAY_LOCK = threading.Lock()


def list_suites():
    """Test suites beyond QEMU scenarios (Bochs, host network tests...): every executable in
    tests/suites/. A suite prints one line per test, `PASS name ...` or `FAIL name: why`,
    cleans up after itself, and exits non-zero when anything failed."""
    if not os.path.isdir(SUITES_DIR):
        return []
    paths = (os.path.join(SUITES_DIR, f) for f in os.listdir(SUITES_DIR) if not f.startswith((".", "_")))
    return sorted(p for p in paths if os.path.isfile(p) and os.access(p, os.X_OK))


def run_suite(path, only):
    name = os.path.splitext(os.path.basename(path))[0]
    cmd = [path] + (["--only", only] if only else [])
    passed = failed = 0
    try:
        proc = subprocess.run(["timeout", "--kill-after=10", str(SUITE_TIMEOUT)] + cmd, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, rc = proc.stdout, proc.returncode
    except OSError as e:
        out, rc = "", None
        say("FAIL suite-%s: cannot run: %s" % (name, e))
        return 0, 1
    with SAY_LOCK:  # one suite's lines together, even with suites running side by side
        for line in out.splitlines():
            m = SUITE_LINE.match(line.strip())
            if m:
                say(line.strip())
                if m.group(1) == "PASS":
                    passed += 1
                else:
                    failed += 1
        if rc != 0 and not failed:
            tail = " | ".join(out.strip().splitlines()[-3:])[:300]
            say("FAIL suite-%s: exited with status %s and no FAIL line (%s)" % (name, rc, tail))
            failed += 1
    return passed, failed


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run thinvisor's unit tests and QEMU scenarios.")
    ap.add_argument("--only", metavar="PATTERN",
                    help="run only tests whose name contains PATTERN or matches it as a glob "
                         "(comma-separated list allowed; 'unit' selects the unit tests)")
    ap.add_argument("--no-unit", action="store_true", help="skip the host unit tests")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="parallel QEMU runs (default 2)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="override the per-run timeout (seconds)")
    ap.add_argument("--list", action="store_true", help="list the QEMU scenarios and exit")
    args = ap.parse_args(argv)

    selected = [s for s in scenarios.SCENARIOS if matches(s.name, args.only)]
    if args.list:
        for s in scenarios.SCENARIOS:
            print("%s%s" % (s.name, "" if s in selected else "  (not selected)"))
        return 0

    start = time.monotonic()
    passed = failed = 0

    if not args.no_unit and matches("unit", args.only):
        if os.path.exists(UNIT_BIN):
            p, f = run_unit()
            passed += p
            failed += f
        elif not args.only:
            say("note: %s not built, unit tests skipped" % rel(UNIT_BIN))

    # One pool for scenarios and suites, --jobs at a time: the suites (each a sequence of
    # emulator runs, Bochs the longest) start first so that the short scenarios fill the
    # gaps; the suites keep out of each other's way (namespaces, taps and files carry a PID).
    suites = [s for s in list_suites()
              if not args.only or matches(os.path.basename(s), args.only) or args.only.startswith("suite:")]
    suites.sort(key=lambda p: (0 if "bochs" in os.path.basename(p) else 1, p))
    ran_suite = bool(suites)
    only = args.only[len("suite:"):] if args.only and args.only.startswith("suite:") else None
    if selected or suites:
        say("running %d suite(s) and %d QEMU scenario(s), %d at a time (logs in %s/<name>/)"
            % (len(suites), len(selected), args.jobs, rel(RESULTS)))

    def scenario_task(sc):
        sc, result, out, problems = run_scenario(sc, args.timeout)
        secs = result.get("wall_seconds", 0.0)
        if problems:
            say("FAIL %s: %s [%.0fs] (logs: %s/{console,monitor,qemu}.log)"
                % (sc.name, "; ".join(problems), secs, rel(out)))
            return 0, 1
        say("PASS %s [%.0fs]" % (sc.name, secs))
        return 1, 0

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_suite, s, only) for s in suites]
        futures += [pool.submit(scenario_task, sc) for sc in selected]
        for fut in concurrent.futures.as_completed(futures):
            p, f = fut.result()
            passed += p
            failed += f

    if not selected and not ran_suite and args.only and not (matches("unit", args.only) and os.path.exists(UNIT_BIN)):
        say("no test matches '%s'" % args.only)
        failed += 1

    say("(total %.0fs)" % (time.monotonic() - start))
    say("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        qemu_run.kill_all()
        print("interrupted", file=sys.stderr)
        os._exit(130)  # do not wait for the worker threads
