#!/usr/bin/env python3
"""thinvisor test runner (make test).

Runs (a) the host unit tests, build/unit/unit_tests (GoogleTest; each gtest test counts as
one test; a missing binary is a failure), (b) every QEMU scenario of tests/qemu/scenarios.py,
(c) every suite in tests/suites/ and (d) every libFuzzer harness for a few seconds on its seed
corpus (tests/unit/run_fuzzers.py, one test `fuzz/NAME` each), each scenario, suite line or
harness one test, a few at a time.
Prints `PASS name` or `FAIL name: reason` per test and ends with exactly one line
`N passed, N failed, N skipped` (skipped: gtest skips); exit status 1 if anything failed.

--only takes comma-separated patterns (substrings or globs) matched against unit, scenario
and suite names and against the names a suite lists with its own `--list` (so
`--only bochs-icelake` runs that optional Bochs run); `suite:NAME` runs the whole suite
NAME (tests/suites/NAME.py) and `suite:NAME:PATTERN` passes PATTERN to that suite alone.

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

sys.path.insert(0, os.path.join(HERE, "unit"))
import run_fuzzers  # noqa: E402

UNIT_BIN = os.path.join(ROOT, "build", "unit", "unit_tests")
RESULTS = os.path.join(ROOT, "build", "test-results")
UNIT_TIMEOUT = 600
FUZZ_SECONDS = 4  # per harness in make test, on the committed seeds (make fuzz runs long)

_print_lock = threading.Lock()


# Every FAIL line, printed again just above the totals: CI shows only the tail of a long run.
FAILURES = []


def say(line):
    with _print_lock:
        if line.startswith("FAIL"):
            FAILURES.append(line[:400])
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
    """Returns (passed, failed, skipped). Each gtest test is one test."""
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
    skipped = 0
    m = re.search(r"^\[  SKIPPED \] (\d+) tests?, listed below:", text, re.M)
    if m:
        skipped = int(m.group(1))
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
        say("PASS unit_tests: %d gtest tests passed%s" % (passed, ", %d skipped" % skipped if skipped else ""))
    elif not failed:
        say("FAIL unit_tests: no gtest summary found (log: %s)" % rel(log))
        failed += 1
    return passed, failed, skipped


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
SUITE_LINE = re.compile(r"^(PASS|FAIL|SKIP) (\S+?):?(\s.*)?$")
SUITE_TIMEOUT = 1800
SAY_LOCK = threading.Lock()


def suite_name(path):
    return os.path.splitext(os.path.basename(path))[0]


def list_suites():
    """Test suites beyond QEMU scenarios (Bochs, host network tests...): every file in
    tests/suites/ whose name does not start with `_` or `.` (those are shared modules). A suite
    is executable, prints one line per test, `PASS name ...` or `FAIL name: why`, cleans up
    after itself, and exits non-zero when anything failed."""
    if not os.path.isdir(SUITES_DIR):
        return []
    paths = (os.path.join(SUITES_DIR, f) for f in os.listdir(SUITES_DIR) if not f.startswith((".", "_")))
    return sorted(p for p in paths if os.path.isfile(p))


def suite_test_names(path):
    """The names a suite lists with `--list` (the first word of each line), for --only; empty
    for a suite without the option (one that never mentions it is not started to ask)."""
    def takes_list(p, depth=0):
        try:
            with open(p, errors="replace") as f:
                text = f.read()
        except OSError:
            return False
        shared = re.findall(r"^(?:import|from) (_\w+)", text, re.M)  # e.g. _ata_suite's main()
        return '"--list"' in text or (depth < 3 and any(takes_list(os.path.join(SUITES_DIR, m + ".py"), depth + 1)
                                                         for m in shared))

    if not takes_list(path):
        return []
    try:
        out = subprocess.run(["timeout", "30", path, "--list"], cwd=ROOT, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    except OSError:
        return []
    if out.returncode != 0:
        return []
    return [l.split()[0] for l in out.stdout.splitlines() if l.strip()]


def runs_alone(path):
    """True for a suite that declares `ALONE = True` (a line of its own): run_tests runs it
    before the others, with no other emulator beside it."""
    try:
        with open(path, errors="replace") as f:
            return re.search(r"^ALONE = True\b", f.read(), re.M) is not None
    except OSError:
        return False


def plan_suites(paths, only):
    """[(path, filter)] for --only: filter None runs the suite whole, else it is passed to the
    suite as its --only. See the module docstring for the pattern forms."""
    if not only:
        return [(p, None) for p in paths]
    whole, filters = set(), {}
    patterns = [x.strip() for x in only.split(",") if x.strip()]
    for p in paths:
        name = suite_name(p)
        listed = None
        for pat in patterns:
            if pat.startswith("suite:"):
                want, _, filt = pat[len("suite:"):].partition(":")
                if matches(name, want) and (name == want or any(c in want for c in "*?[")):
                    if filt:
                        filters.setdefault(p, []).append(filt)
                    else:
                        whole.add(p)
            elif matches(os.path.basename(p), pat):
                whole.add(p)
            else:
                if listed is None:
                    listed = suite_test_names(p) if os.access(p, os.X_OK) else []
                if any(matches(t, pat) for t in listed):
                    filters.setdefault(p, []).append(pat)
    return [(p, None if p in whole else ",".join(filters[p])) for p in paths if p in whole or p in filters]


def run_suite(path, only):
    name = suite_name(path)
    if not os.access(path, os.X_OK):
        say("FAIL suite-%s: %s is not executable (chmod +x), so it did not run" % (name, rel(path)))
        return 0, 1, 0
    cmd = [path] + (["--only", only] if only else [])
    passed = failed = skipped = 0
    try:
        proc = subprocess.run(["timeout", "--kill-after=10", str(SUITE_TIMEOUT)] + cmd, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, rc = proc.stdout, proc.returncode
    except OSError as e:
        say("FAIL suite-%s: cannot run: %s" % (name, e))
        return 0, 1, 0
    with SAY_LOCK:  # one suite's lines together, even with suites running side by side
        for line in out.splitlines():
            m = SUITE_LINE.match(line.strip())
            if m:
                say(line.strip())
                if m.group(1) == "PASS":
                    passed += 1
                elif m.group(1) == "SKIP":  # a test the suite could not run here, with its reason
                    skipped += 1
                else:
                    failed += 1
        tail = " | ".join(out.strip().splitlines()[-3:])[:300]
        if rc != 0 and not failed:
            say("FAIL suite-%s: exited with status %s and no FAIL line (%s)" % (name, rc, tail))
            failed += 1
        elif not passed and not failed and not skipped:
            say("FAIL suite-%s: exited with status %s and printed no PASS or FAIL line (%s)"
                % (name, rc, tail or "no output"))
            failed += 1
    return passed, failed, skipped


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
        for n in run_fuzzers.harnesses():
            print("fuzz/%s%s" % (n, "" if matches("fuzz/" + n, args.only) else "  (not selected)"))
        planned = dict(plan_suites(list_suites(), args.only))
        for path in list_suites():
            print("suite:%s%s" % (suite_name(path), "" if path in planned else "  (not selected)"))
            for t in suite_test_names(path):
                print("  %s" % t)
        return 0

    start = time.monotonic()
    passed = failed = skipped = 0
    ran_unit = False

    if not args.no_unit and matches("unit", args.only):
        ran_unit = True
        if os.path.exists(UNIT_BIN):
            p, f, sk = run_unit()
            passed += p
            failed += f
            skipped += sk
        else:
            say("FAIL unit_tests: %s is missing (make unit)" % rel(UNIT_BIN))
            failed += 1

    # One pool for scenarios and suites, --jobs at a time: the suites (each a sequence of
    # emulator runs, Bochs the longest) start first so that the short scenarios fill the
    # gaps; the suites keep out of each other's way (namespaces, taps and files carry a PID).
    fuzzers = [n for n in run_fuzzers.harnesses() if matches("fuzz/" + n, args.only)]
    suites = plan_suites(list_suites(), args.only)
    suites.sort(key=lambda s: (0 if "bochs" in os.path.basename(s[0]) else 1, s[0]))
    ran_suite = bool(suites)
    if selected or suites or fuzzers:
        say("running %d suite(s), %d QEMU scenario(s) and %d fuzzer(s), %d at a time (logs in %s/<name>/)"
            % (len(suites), len(selected), len(fuzzers), args.jobs, rel(RESULTS)))

    def fuzz_task(name):
        ok, detail, _ = run_fuzzers.run_one(name, FUZZ_SECONDS)
        say("%s fuzz/%s%s %s" % ("PASS" if ok else "FAIL", name, "" if ok else ":", detail))
        return (1, 0, 0) if ok else (0, 1, 0)

    def scenario_task(sc):
        sc, result, out, problems = run_scenario(sc, args.timeout)
        secs = result.get("wall_seconds", 0.0)
        if problems:
            say("FAIL %s: %s [%.0fs] (logs: %s/{console,monitor,qemu}.log)"
                % (sc.name, "; ".join(problems), secs, rel(out)))
            return 0, 1, 0
        say("PASS %s [%.0fs]" % (sc.name, secs))
        return 1, 0, 0

    # A suite that measures time against the host's clock (ALONE = True in its file) runs
    # first, with nothing beside it: on a 2-core host a second emulator stalls QEMU itself.
    alone = [(path, only) for path, only in suites if runs_alone(path)]
    for path, only in alone:
        p, f, sk = run_suite(path, only)
        passed += p
        failed += f
        skipped += sk
    suites = [s for s in suites if s not in alone]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_suite, path, only) for path, only in suites]
        futures += [pool.submit(scenario_task, sc) for sc in selected]
        futures += [pool.submit(fuzz_task, n) for n in fuzzers]
        for fut in concurrent.futures.as_completed(futures):
            p, f, sk = fut.result()
            passed += p
            failed += f
            skipped += sk

    if not selected and not ran_suite and not ran_unit and not fuzzers and args.only:
        say("FAIL run_tests: no test matches '%s'" % args.only)
        failed += 1

    say("(total %.0fs)" % (time.monotonic() - start))
    if FAILURES:
        with _print_lock:
            print("failed, once more:", flush=True)
            for line in list(FAILURES):
                print("  " + line, flush=True)
    say("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        qemu_run.kill_all()
        print("interrupted", file=sys.stderr)
        os._exit(130)  # do not wait for the worker threads
