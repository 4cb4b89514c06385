#!/usr/bin/env python3
"""Run ONE QEMU boot of the thinvisor test setup and capture everything.

COM1 (first -serial) is the guest console -> OUT/console.log
COM2 (second -serial) is thinvisor's log  -> OUT/monitor.log
QEMU's own stdout/stderr                  -> OUT/qemu.log
Result (exit code, timeout, wall time)    -> OUT/result.json

Without a monitor (--monitor none) SeaBIOS boots the disk image directly; with one, QEMU
loads the monitor as a multiboot kernel (-kernel) and the monitor boots the disk.
The disk is attached with snapshot=on: the image file is never modified.

Python 3 standard library only. Usable as a module: run(...) returns the result dict.
"""
import argparse
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DISK = os.path.join(ROOT, "build", "guest", "disk.img")
SCRIPT_FW_CFG_NAME = "opt/thinvisor/script"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")

_live = set()  # running QEMU process groups, for kill_all()
_live_lock = threading.Lock()


def kill_all():
    """Kills every QEMU started by run() that is still running (e.g. on Ctrl-C)."""
    with _live_lock:
        procs = list(_live)
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def qemu_command(machine, cpu, mem, monitor, append, disk, script, console, monlog,
                 extra=()):
    """The QEMU command line. console/monlog: a -serial backend spec for COM1/COM2."""
    cmd = [QEMU, "-accel", "tcg", "-machine", machine, "-cpu", cpu, "-m", mem,
           "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
           "-vga", "std", "-serial", console, "-serial", monlog]
    if monitor and monitor != "none":
        cmd += ["-kernel", monitor]
        if append:
            cmd += ["-append", append]
    if disk:
        # QEMU splits -drive options at commas; a comma in the path must be doubled.
        cmd += ["-drive", "file=%s,format=raw,snapshot=on" % disk.replace(",", ",,")]
    if script:
        cmd += ["-fw_cfg", "name=%s,file=%s" % (SCRIPT_FW_CFG_NAME, script.replace(",", ",,"))]
    cmd += list(extra)
    return cmd


def _read_tail(path, pos):
    """Returns (new text since pos, new pos)."""
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            data = f.read()
    except FileNotFoundError:
        return "", pos
    return data.decode("utf-8", "replace"), pos + len(data)


def _stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait()


def _wait(proc, pattern, console, monlog, settle, after):
    """Waits for QEMU; with a pattern, kills it once the pattern shows up in a log, or, with
    settle, that many seconds later (after: a dict that receives `settled_seconds` and
    `exited_while_settling`, so a check can see that the machine stayed as it was).
    Returns (exit code, stopped_on_pattern)."""
    if pattern is None:
        return proc.wait(), False
    seen = {console: "", monlog: ""}
    pos = {console: 0, monlog: 0}
    while True:
        try:
            return proc.wait(timeout=0.2), False
        except subprocess.TimeoutExpired:
            pass
        for p in (console, monlog):
            text, pos[p] = _read_tail(p, pos[p])
            # keep some old text so that a match split across two reads is still found
            seen[p] = seen[p][-4096:] + text
            if pattern.search(seen[p]):
                seen_at = time.monotonic()
                if settle:
                    try:
                        rc = proc.wait(timeout=settle)
                        after["exited_while_settling"] = True
                        after["settled_seconds"] = round(time.monotonic() - seen_at, 2)
                        return rc, True
                    except subprocess.TimeoutExpired:
                        pass
                after["exited_while_settling"] = False
                after["settled_seconds"] = round(time.monotonic() - seen_at, 2)
                return _stop(proc), True


def run(out, machine="pc", cpu="max", mem="512M", monitor="none", append=None,
        disk=DEFAULT_DISK, script=None, timeout=240, stop_on=None, extra=(), settle=0):
    """One captured boot. stop_on: a regex; QEMU is killed as soon as it shows up in
    console.log or monitor.log (for runs expected to hang, e.g. a monitor that halts), or
    settle seconds after that (to see that nothing happens once the monitor has halted:
    timeout must leave room for them)."""
    os.makedirs(out, exist_ok=True)
    disk = os.path.abspath(disk) if disk else disk
    script = os.path.abspath(script) if script else script
    console = os.path.join(out, "console.log")
    monlog = os.path.join(out, "monitor.log")
    qlog = os.path.join(out, "qemu.log")
    result_path = os.path.join(out, "result.json")
    for p in (console, monlog, qlog, result_path):
        if os.path.exists(p):
            os.unlink(p)
    for path, what in ((disk, "disk image"), (script, "script"),
                       (monitor if monitor != "none" else None, "monitor")):
        if path and not os.path.isfile(path):
            result = {"error": "%s not found: %s" % (what, path), "exit_code": None,
                      "timed_out": False, "stopped_on_pattern": False, "wall_seconds": 0.0}
            with open(result_path, "w") as f:
                json.dump(result, f, indent=2)
            return result

    cmd = qemu_command(machine, cpu, mem, monitor, append, disk, script,
                       "file:" + console, "file:" + monlog, extra)
    # timeout(1) bounds QEMU even if this process dies; -k makes sure it really ends.
    full = ["timeout", "-k", "5", "%g" % timeout, *cmd]
    pattern = re.compile(stop_on) if stop_on else None
    start = time.monotonic()
    after = {}
    with open(qlog, "wb") as ql:
        ql.write(("$ " + shlex.join(full) + "\n").encode())
        ql.flush()
        proc = subprocess.Popen(full, stdin=subprocess.DEVNULL, stdout=ql,
                                stderr=subprocess.STDOUT, start_new_session=True)
        with _live_lock:
            _live.add(proc)
        try:
            rc, stopped = _wait(proc, pattern, console, monlog, settle, after)
        except BaseException:  # Ctrl-C etc.: do not leave QEMU running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            with _live_lock:
                _live.discard(proc)
    wall = time.monotonic() - start
    # 137: timeout -k had to SIGKILL. A run that timed out while settling after its pattern
    # counts as timed out too: the pattern came too late to watch the machine afterwards.
    timed_out = (rc in (124, 137)) and (not stopped or after.get("exited_while_settling", False))
    # QEMU exits 0 when it gets SIGTERM/SIGINT: tell that apart from a guest power-off.
    killed_by = None
    if (not stopped or after.get("exited_while_settling")) and not timed_out:
        with open(qlog, "rb") as f:
            m = re.search(rb"terminating on signal (\d+)(.*)", f.read())
        if m:
            killed_by = "signal %s%s" % (m.group(1).decode(),
                                         m.group(2).decode("utf-8", "replace").rstrip())
        elif rc is not None and rc < 0:
            killed_by = "signal %d" % -rc
    result = {
        "exit_code": rc,
        "timed_out": timed_out,
        "stopped_on_pattern": stopped,
        "settle": settle,
        **after,
        "wall_seconds": round(wall, 2),
        "killed_by": killed_by,  # set when something outside killed QEMU
        "machine": machine, "cpu": cpu, "mem": mem, "monitor": monitor,
        "append": append, "disk": disk, "script": script, "timeout": timeout,
        "command": cmd,
    }
    with open(result_path, "w") as f:
        json.dump(result, f, indent=2)
    return result


def summary(result, out):
    if result.get("error"):
        return "qemu_run: ERROR %s (out %s)" % (result["error"], out)
    state = ("stopped on pattern" if result["stopped_on_pattern"]
             else "TIMED OUT" if result["timed_out"]
             else "KILLED by %s" % result["killed_by"] if result.get("killed_by")
             else "exit %s" % result["exit_code"])
    return "qemu_run: %s %s %s monitor=%s: %s after %.1fs (logs in %s)" % (
        result["machine"], result["cpu"], result["mem"],
        os.path.basename(result["monitor"]) if result["monitor"] != "none" else "none",
        state, result["wall_seconds"], out)


def interactive(args):
    """COM1 on this terminal (for `make run`), COM2 still to a file."""
    os.makedirs(args.out, exist_ok=True)
    monlog = os.path.join(args.out, "monitor.log")
    cmd = qemu_command(args.machine, args.cpu, args.mem, args.monitor, args.append,
                       args.disk, args.script, "stdio", "file:" + monlog, args.qemu_arg)
    print("qemu_run: COM1 on this terminal, thinvisor log in %s; exit the guest shell to "
          "power off (or kill QEMU with Ctrl-C)" % monlog, file=sys.stderr)
    print("$ " + shlex.join(cmd), file=sys.stderr)
    sys.stderr.flush()
    os.execvp(cmd[0], cmd)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--machine", default="pc", help="pc or q35 (default pc)")
    ap.add_argument("--cpu", default="max", help="QEMU -cpu model (default max)")
    ap.add_argument("--mem", default="512M", help="guest RAM, e.g. 512M or 3G")
    ap.add_argument("--monitor", default="none",
                    help="thinvisor multiboot ELF, or 'none' to boot the disk directly")
    ap.add_argument("--append", default=None, help="monitor command line (-append)")
    ap.add_argument("--disk", default=DEFAULT_DISK, help="raw disk image (never modified)")
    ap.add_argument("--script", default=None,
                    help="guest script, passed as fw_cfg %s" % SCRIPT_FW_CFG_NAME)
    ap.add_argument("--timeout", type=float, default=240, help="seconds (default 240)")
    ap.add_argument("--stop-on", default=None, metavar="REGEX",
                    help="kill QEMU as soon as REGEX appears in console.log or monitor.log")
    ap.add_argument("--settle", type=float, default=0, metavar="SECONDS",
                    help="with --stop-on: keep QEMU running this long after REGEX appears")
    ap.add_argument("--qemu-arg", action="append", default=[], metavar="ARG",
                    help="extra QEMU argument (repeatable), e.g. --qemu-arg=-smp --qemu-arg=2")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "qemu-run"),
                    help="output directory for logs and result.json")
    ap.add_argument("--interactive", action="store_true",
                    help="guest console on this terminal (for make run); no timeout")
    args = ap.parse_args(argv)
    if args.monitor != "none":
        args.monitor = os.path.abspath(args.monitor)
    if args.interactive:
        interactive(args)
    result = run(args.out, args.machine, args.cpu, args.mem, args.monitor, args.append,
                 args.disk, args.script, args.timeout, args.stop_on, args.qemu_arg, args.settle)
    print(summary(result, args.out))
    ok = (not result.get("error") and not result["timed_out"] and not result.get("killed_by")
          and result["exit_code"] == 0)
    return 0 if ok or result.get("stopped_on_pattern") else 1


if __name__ == "__main__":
    sys.exit(main())
