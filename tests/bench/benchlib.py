"""The one schema of build/bench/results.jsonl, and the one writer every bench uses.

Each line is one measurement (docs/bench.md):
  name        unique in the run, [A-Za-z0-9_]+
  value       the measurement (a number)
  unit        e.g. "s", "MB/s", "exits/MiB", "ms", "GB/s", "exits"
  peer        what the value is compared against, measured in the same run (text), or null
  peer_value  the peer's measurement (a number), or null
  ratio       value / peer_value, or null
  goal        {"of": "ratio"|"value", "op": "<="|">=", "target": number}, or null
  met         whether the goal was met (bool); null without a goal, or when what the goal
              judges was not measured in this run (a ratio without its peer)
  runs        how many runs the value summarises (>= 1)
  samples     the individual runs' values (list of numbers), or null
  machine     "pc", "q35", "host" (measured outside a guest), ...
  cpu         the CPU model the guest saw ("max", "corei7_haswell_4770", "host"...)
  vendor      "amd" (SVM), "intel" (VMX), or "host"
  bench       the bench that wrote it (its file name without _bench.py)
  extra       anything else worth keeping (a dict), e.g. exits by reason

A writer that breaks the schema fails at once with a SchemaError that says which field.
"""
import json
import math
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
RESULTS = os.path.join(ROOT, "build", "bench", "results.jsonl")
FIELDS = ("name", "value", "unit", "peer", "peer_value", "ratio", "goal", "met", "runs", "samples",
          "machine", "cpu", "vendor", "bench", "extra")
VENDORS = ("amd", "intel", "host")
NAME_RE = re.compile(r"^[A-Za-z0-9_]+$")


class SchemaError(ValueError):
    pass


def before_monitor():
    """The monitor ELF of an older commit (`make bench BEFORE=REF` builds it and sets
    TV_BENCH_BEFORE), so a bench can measure before and after in the same run; None without
    one, and in a smoke run."""
    path = os.environ.get("TV_BENCH_BEFORE")
    if smoke() or not path or not os.path.exists(path):
        return None
    return path


def before_ref():
    """The commit the before-monitor was built from (its .ref file), for the lines' extra."""
    path = before_monitor()
    try:
        return open(path + ".ref").read().strip() if path else None
    except OSError:
        return "unknown"


def smoke():
    """make test's smoke mode (TV_BENCH_SMOKE=1): one short run of each bench, to check that
    it still produces its lines; its numbers mean nothing."""
    return os.environ.get("TV_BENCH_SMOKE") == "1"


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def goal(of, op, target):
    if of not in ("ratio", "value") or op not in ("<=", ">=") or not _number(target):
        raise SchemaError("bad goal (%r, %r, %r)" % (of, op, target))
    return {"of": of, "op": op, "target": target}


def goal_met(line):
    g = line.get("goal")
    if not g:
        return None
    v = line.get(g["of"])
    if v is None:
        return None  # not measured in this run (a smoke run has no peer): neither met nor missed
    if not _number(v):
        return False
    return v <= g["target"] if g["op"] == "<=" else v >= g["target"]


def validate(line):
    """Raises SchemaError naming the first problem."""
    if not isinstance(line, dict):
        raise SchemaError("a result must be an object, got %r" % type(line).__name__)
    missing = [f for f in FIELDS if f not in line]
    extra = [f for f in line if f not in FIELDS]
    if missing or extra:
        raise SchemaError("%s: missing %s, unknown %s" % (line.get("name"), missing, extra))
    n = line["name"]
    if not isinstance(n, str) or not NAME_RE.match(n):
        raise SchemaError("bad name %r" % (n,))
    if not _number(line["value"]):
        raise SchemaError("%s: value %r is not a number" % (n, line["value"]))
    if not isinstance(line["unit"], str) or not line["unit"]:
        raise SchemaError("%s: unit missing" % n)
    if line["peer"] is not None and not isinstance(line["peer"], str):
        raise SchemaError("%s: peer must be text or null" % n)
    for f in ("peer_value", "ratio"):
        if line[f] is not None and not _number(line[f]):
            raise SchemaError("%s: %s %r is not a number" % (n, f, line[f]))
    if line["peer_value"] is not None and line["peer"] is None:
        raise SchemaError("%s: peer_value without saying what the peer is" % n)
    g = line["goal"]
    if g is not None:
        goal(g.get("of"), g.get("op"), g.get("target"))
        if set(g) != {"of", "op", "target"}:
            raise SchemaError("%s: goal has fields %s" % (n, sorted(g)))
    if line["met"] != goal_met(line):
        raise SchemaError("%s: met is %r, the goal says %r" % (n, line["met"], goal_met(line)))
    if not isinstance(line["runs"], int) or line["runs"] < 1:
        raise SchemaError("%s: runs must be a positive integer" % n)
    s = line["samples"]
    if s is not None and (not isinstance(s, list) or not all(_number(x) for x in s)):
        raise SchemaError("%s: samples must be a list of numbers" % n)
    for f in ("machine", "cpu", "bench"):
        if not isinstance(line[f], str) or not line[f]:
            raise SchemaError("%s: %s missing" % (n, f))
    if line["vendor"] not in VENDORS:
        raise SchemaError("%s: vendor %r is not one of %s" % (n, line["vendor"], VENDORS))
    if not isinstance(line["extra"], dict):
        raise SchemaError("%s: extra must be an object" % n)
    return line


def bench_name():
    base = os.path.basename(sys.argv[0])
    return base[:-len("_bench.py")] if base.endswith("_bench.py") else base.rsplit(".", 1)[0]


def record(name, value, unit, peer=None, peer_value=None, ratio=None, goal=None, runs=1, samples=None,
           machine="host", cpu="host", vendor="host", extra=None, bench=None):
    """Validates one measurement and appends it to results.jsonl. `ratio` defaults to
    value / peer_value when both are there."""
    if ratio is None and _number(value) and _number(peer_value) and peer_value:
        ratio = round(value / peer_value, 3)
    line = {"name": name, "value": value, "unit": unit, "peer": peer, "peer_value": peer_value, "ratio": ratio,
            "goal": goal, "met": None, "runs": runs, "samples": samples, "machine": machine, "cpu": cpu,
            "vendor": vendor, "bench": bench or bench_name(), "extra": extra or {}}
    line["met"] = goal_met(line)
    validate(line)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(line) + "\n")
    return line


def load(path=RESULTS):
    """Every line of a results file, each validated (SchemaError names the line)."""
    rows = []
    with open(path) as f:
        for i, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                rows.append(validate(json.loads(text)))
            except (ValueError, SchemaError) as e:
                raise SchemaError("%s:%d: %s" % (path, i, e))
    return rows


def disk_runs():
    """How many runs of each configuration the disk benches make (their median is recorded):
    bench.py --runs passes it down as TV_BENCH_RUNS; 1 when run alone."""
    return max(1, int(os.environ.get("TV_BENCH_RUNS", "1")))


def time_per_exit(mbps, peer_mbps, exits_per_mib):
    """What the mediated run's extra time costs per VM exit: (ms per MiB over the peer, us per
    exit), or None without a peer or exits. Under TCG the exit count, not the copies or the
    crypto, is what separates a mediated disk from its peer (docs/ahci.md, "Where the time
    goes"); this shows it in every run, at that run's load."""
    if not mbps or not peer_mbps or exits_per_mib <= 0:
        return None
    extra_ms = 1000.0 / mbps - 1000.0 / peer_mbps
    if extra_ms <= 0:  # faster than its peer (encrypted against dm-crypt): nothing to share out
        return None
    return round(extra_ms, 2), round(extra_ms * 1000.0 / exits_per_mib, 1)


def dmcrypt_peer():
    """The disk benches' dm-crypt peer: (QEMU arguments, guest script prefix). The guest gets
    the guest kernel's dm-crypt modules and dmsetup by fw_cfg (tools/guest/
    build-dmcrypt-bundle.sh) and maps its scratch disk with aes-xts-plain64, a 512-bit key and
    512-byte sectors (tests/qemu/guest/dmcrypt-setup.sh) before the same dd runs."""
    import subprocess
    subprocess.run([os.path.join(ROOT, "tools", "guest", "build-dmcrypt-bundle.sh")], check=True)
    bundle = os.path.join(ROOT, "build", "guest", "dmcrypt.cpio.gz")
    with open(os.path.join(ROOT, "tests", "qemu", "guest", "dmcrypt-setup.sh")) as f:
        setup = f.read()
    return ["-fw_cfg", "name=opt/thinvisor/dmcrypt,file=%s" % bundle], "DMCRYPT=1\n" + setup
