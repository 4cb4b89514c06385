#!/usr/bin/env python3
"""The monitor's answer latency on the shared NIC and what its clock costs (docs/net.md,
"Polling and latency"; docs/architecture.md, "The monitor clock").

The demo guest boots under thinvisor (q35, TCG, AMD-V) with a static [network] section. The
host pings the monitor's address COUNT times with the guest idle at its shell (its e1000 down)
and again with the guest spinning in a shell loop that makes no exits; median and maximum of
the replies, against the host's ping of the guest itself (e1000 up) in the same run. Around
each of the two series the guest reads the exit counters (`thinvisor-ctl counters`), which
gives the exits per second by reason, idle and busy: the clock's exit cost. The same run is
made twice, with the clock on (the default) and with `svm_clock=off` (the work at the guest's
exits only), so both come from the same `make bench`. The boot time to the guest's shell and
the exits by reason at power-off are recorded too. With `make bench BEFORE=REF` (an older
commit's monitor, benchlib.before_monitor) the same run is made with it first.
Appends JSON lines to build/bench/results.jsonl."""
import os
import re
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import net_monitor as nm  # noqa: E402

COUNT = 5 if bl.smoke() else 100


def stats(times):
    s = sorted(times)
    return (s[len(s) // 2], s[-1]) if s else (None, None)


NOT_EXITS = ("hidden-access", "io-passthrough", "io-emulated", "msr-refused", "total")


def exit_counters(g):
    """The monitor's exit counters by reason, read from inside the guest (a few exits of its own)."""
    out, rc = g.run("thinvisor-ctl counters", 60)
    if rc != 0:
        return None
    return dict((k, int(v)) for k, v in re.findall(r"^([\w-]+) (\d+)$", out, re.M) if k not in NOT_EXITS)


def exit_rates(before, after, seconds):
    """Exits per second by reason between two counter reads (reasons that moved only), and the total."""
    if not before or not after or seconds <= 0:
        return None
    rates = dict((k, round((after[k] - before.get(k, 0)) / seconds, 1)) for k in after if after[k] != before.get(k, 0))
    rates["total"] = round(sum(rates.values()), 1)
    return rates


def one_binary(label, elf, append=None):
    nl.MONITOR = elf  # Guest() reads the module's MONITOR
    work = tempfile.mkdtemp(prefix="tvnetbench")
    net = nl.Net("nb").setup()
    g = None
    out = {"binary": label}
    try:
        conf = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
                % (nm.MON_MAC, nm.STATIC_IP, net.host_ip))
        g = nl.Guest(net, work, conf_text=conf, machine="q35", guest_mac=nm.GUEST_MAC, timeout=900, append=append)
        if not g.wait_shell(300):
            print("net_monitor_bench: %s: the guest did not reach its shell" % label)
            return None
        out["boot_to_shell_s"] = round(time.monotonic() - g.started, 2)
        nm.ping_times(net, nm.STATIC_IP, "warmup.log", count=3, interval="0.5")
        for load in ("idle", "busy"):
            if load == "busy":
                g.run(nm.SPIN, 30)
            c0, t0 = exit_counters(g), time.monotonic()
            got, times = nm.ping_times(net, nm.STATIC_IP, "mon-%s.log" % load, count=COUNT)
            c1, t1 = exit_counters(g), time.monotonic()
            med, mx = stats(times)
            out[load] = {"received": got, "sent": COUNT, "median_ms": med, "max_ms": mx, "samples": times,
                         "exits_per_s": exit_rates(c0, c1, t1 - t0)}
        g.run("kill $(cat /tmp/spin.pid); ip link set eth0 up && ip addr add %s/24 dev eth0" % nm.GUEST_IP, 60)
        time.sleep(2)
        got, times = nm.ping_times(net, nm.GUEST_IP, "guest.log", count=20, interval="0.2")
        out["peer_guest_median_ms"] = stats(times)[0]
        out["peer_samples"] = times
        log = g.power_off(120)
        counts = re.search(r"power-off: exit counts (.*)", log)
        out["exits"] = dict((k, int(v)) for k, v in re.findall(r"([\w-]+)=(\d+)", counts.group(1))) if counts else None
        clock = re.search(r"clock: \d+ timed runs.*", log)
        out["clock"] = clock.group(0) if clock else None
        return out
    finally:
        if g:
            g.kill()
        net.cleanup()


def main():
    if os.geteuid() != 0:
        print("net_monitor_bench: needs root; skipped")
        return 0
    runs = []
    before = bl.before_monitor()  # `make bench BEFORE=REF`; never in the smoke run
    if before:
        runs.append(("before", before, None))
    runs.append(("after", nl.MONITOR, None))  # the AMD-V clock on, as by default
    if not bl.smoke():  # make test's smoke run keeps to one boot
        runs.append(("clock_off", nl.MONITOR, "svm_clock=off"))  # the same ELF, its AMD-V clock off
    for label, elf, append in runs:
        r = one_binary(label, elf, append)
        if not r:
            continue
        suffix = "" if label == "after" else "_" + label
        at = dict(machine="q35", cpu="max", vendor="amd")
        for load in ("idle", "busy"):
            x = r[load]
            if x["median_ms"] is None:
                print("net_monitor_bench: %s %s: no replies" % (label, load))
                continue
            bl.record("net_monitor_ping_guest_%s_ms%s" % (load, suffix), x["median_ms"], "ms",
                      peer="host ping of the guest, same run" if r["peer_guest_median_ms"] is not None else None,
                      peer_value=r["peer_guest_median_ms"], goal=bl.goal("value", "<=", 50), runs=max(x["received"], 1),
                      samples=x["samples"] or None,
                      extra={"max_ms": x["max_ms"], "received": x["received"], "sent": x["sent"], "binary": label,
                             "guest_samples": r["peer_samples"]}, **at)
            print("%-9s monitor ping, guest %-4s: median %s ms, max %s ms (%d/%d); guest's own median %s ms"
                  % (label, load, x["median_ms"], x["max_ms"], x["received"], COUNT, r["peer_guest_median_ms"]))
        for load in ("idle", "busy"):
            rates = r[load]["exits_per_s"]
            if rates:
                bl.record("net_monitor_exits_per_s_%s%s" % (load, suffix), rates["total"], "exits/s",
                          extra={"binary": label, "by_reason": rates, "append": append}, **at)
            print("%-9s exits per second, guest %-4s: %s" % (label, load, rates))
        bl.record("net_monitor_boot_to_shell_s%s" % suffix, r["boot_to_shell_s"], "s", extra={"binary": label}, **at)
        if r["exits"]:
            bl.record("net_monitor_boot_exits%s" % suffix, sum(v for k, v in r["exits"].items() if k != "total" and not k.startswith("io-")),
                      "exits", extra={"binary": label, "exits_by_reason": r["exits"], "clock": r["clock"]}, **at)
        print("%-9s boot to shell %.1f s; exits %s; %s" % (label, r["boot_to_shell_s"], r["exits"], r["clock"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
