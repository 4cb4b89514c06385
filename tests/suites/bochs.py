#!/usr/bin/env python3
"""Bochs suite: thinvisor's Intel VT-x backend under Bochs 2.7 (VMX with EPT emulated).

Each run boots a GRUB CD that loads build/thinvisor.elf with `multiboot`; the guest disk is
the first hard disk (BIOS drive 0x80). Runs:
  bochs-<model>            the guest boots through the monitor and runs its checks
                           (monitor memory hidden, VMX hidden, counters readable)
  bochs-<model>-refuses    a CPU without a required feature: the monitor must refuse,
                           naming the feature, and never boot the guest

bochs-haswell also carries the VT-x attack suite (tests/suites/_bochs_attack.py has the details):
a scratch disk as the primary slave, Bochs' e1000 on a UDP socket, a thinvisor.conf with
[network] and COM1 on a socket; tvattack (tests/attack/) runs before the monitor checks, and
each attack gets a line of its own, `PASS|FAIL|SKIP attack-vtx/NAME: ...`, judged with
tests/suites/attacks.py's code. Alone: `tests/suites/bochs.py --only 'bochs-hasw?ll'` (the glob;
a plain `bochs-haswell` also picks bochs-haswell-smp2). tests/suites/bochs_rmattack.py has the
attacks that need a guest without an OS.

Prints one line per run, `PASS name [secs] ...` (with the guest boot's exit counts) or
`FAIL name: why`, exits 1 on any failure. At most two Bochs at a time; each wrapped in
`timeout`. Logs stay in build/test-results/<name>/ (console.log = COM1, monitor.log = COM2,
bochs.log); temporary files (ISO, disk copies) are removed.

Python 3 standard library only.
"""
import argparse
import concurrent.futures
import fnmatch
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tty
from dataclasses import dataclass
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _bochs_attack as bxa  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
BOCHS_DIR = os.path.join(ROOT, "tests", "bochs")
MONITOR = os.environ.get("TV_BOCHS_MONITOR", os.path.join(ROOT, "build", "thinvisor.elf"))
DISK = os.environ.get("TV_BOCHS_DISK", os.path.join(ROOT, "build", "guest", "disk-bochs.img"))
RESULTS = os.path.join(ROOT, "build", "test-results")
MONITOR_CHECKS = os.path.join(ROOT, "tests", "qemu", "guest", "monitor-checks.sh")
SMP_CHECKS = os.path.join(ROOT, "tests", "qemu", "guest", "smp-checks.sh")
SMP_MARKERS = ["TV-CHECK ok: smp-nproc", "TV-CHECK ok: smp-parallel-sha256", "TV-CHECK ok: smp-guest-nmi"]  # as scenarios.SMP_MARKERS
SMP_RE = re.compile(r"smp: (\d+) of (\d+) processors under the monitor")
MEGS = 256
GUEST_UP = "thinvisor-guest: up"
SCREEN_RE = re.compile(rb'connected to screen "(/dev/pts/\d+)"')

_print_lock = threading.Lock()
_stopping = threading.Event()  # SIGTERM/SIGINT: stop every Bochs, clean up, report


def say(line):
    with _print_lock:
        print(line, flush=True)


@dataclass
class Run:
    name: str
    model: str
    boots: bool                  # True: the guest must boot; False: the monitor must refuse
    refusal: Optional[str] = None  # regex naming the missing feature
    # 1200 s: bochs-haswell took 394-920 s on the shared 2-core host. About 11 of its 14 G Bochs
    # instructions come before Linux starts: the BIOS (through syslinux) reads the 40 MB flat
    # kernel and initrd by REP INSD, which the IDE mediator emulates one dword per hook call
    # (10.2 M ide0-data calls in one boot; docs/ata.md "PIO").
    timeout: int = int(os.environ.get("TV_BOCHS_TIMEOUT", "1200"))
    cmdline: str = ""             # the monitor's command line
    optional: bool = False        # run only when --only names it
    cpus: int = 1                 # Bochs "cpu: count="; >1 adds the SMP checks
    attacks: bool = False         # also run the VT-x attack suite in this boot (_bochs_attack.py)


# Bochs 2.7's Ice Lake and Tiger Lake models offer the monitor trap flag but never deliver its
# VM exit: their runs make the monitor single-step with RFLAGS.TF instead.
NO_MTF = "vmx_step=tf"


RUNS = [
    # The VT-x attack suite shares this boot (tests/suites/_bochs_attack.py): 1800 s, as
    # bochs-haswell-smp2 (at a load of 12-15 the boot alone took 20 minutes; the attacks 3 more).
    Run("bochs-haswell", "corei7_haswell_4770", True, timeout=int(os.environ.get("TV_BOCHS_TIMEOUT", "1800")),
        attacks=True),
    # Optional since the Bochs+OVMF Linux run joined make test (40-minute budget): the TF
    # stepping it covers runs with `--only bochs-icelake` or `--only bochs-tigerlake`.
    Run("bochs-icelake", "corei7_icelake_u", True, cmdline=NO_MTF, optional=True),
    # 679-962 s at a load of 2-3 (its AP spins in the monitor until Linux starts it).
    Run("bochs-haswell-smp2", "corei7_haswell_4770", True, timeout=1800, cpus=2),
    Run("bochs-tigerlake", "tigerlake", True, cmdline=NO_MTF, optional=True),
    Run("bochs-lynnfield-refuses", "corei5_lynnfield_750", False, r"no unrestricted guest", 120),
    Run("bochs-penryn-refuses", "core2_penryn_t9600", False, r"no extended page tables \(EPT\)", 120),
]


def matches(name, patterns):
    """--only: comma-separated globs or substrings, as tests/run_tests.py takes them."""
    if not patterns:
        return True
    for p in (x.strip() for x in patterns.split(",")):
        if p and ((any(c in p for c in "*?[") and fnmatch.fnmatch(name, p)) or p in name):
            return True
    return False


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


# --- building the inputs -------------------------------------------------------------------

def build_iso(tmp, cmdline):
    iso_root = os.path.join(tmp, "iso")
    os.makedirs(os.path.join(iso_root, "boot", "grub"), exist_ok=True)
    shutil.copy(MONITOR, os.path.join(iso_root, "boot", "thinvisor.elf"))
    with open(os.path.join(BOCHS_DIR, "grub.cfg")) as f:
        cfg = f.read().replace("@CMDLINE@", cmdline)
    with open(os.path.join(iso_root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(cfg)
    iso = os.path.join(tmp, "thinvisor-%d.iso" % abs(hash(cmdline)))
    # BIOS GRUB only: a smaller image and no EFI partition for Bochs' BIOS to skip.
    proc = subprocess.run(["grub-mkrescue", "-d", "/usr/lib/grub/i386-pc", "-o", iso, iso_root],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError("grub-mkrescue failed: %s" % proc.stdout.strip()[-300:])
    return iso


def build_disk(tmp, cpus=1, attack=None):
    """A copy of the guest image with the check script as /tvscript.sh on its FAT partition
    (the guest's /init runs it when there is no QEMU fw_cfg); with `attack`, tvattack runs
    before the monitor checks, which power off."""
    disk = os.path.join(tmp, "disk.img")
    shutil.copy(DISK, disk)
    script = os.path.join(tmp, "tvscript.sh")
    with open(script, "w") as out:
        parts = [os.path.join(BOCHS_DIR, "guest-checks.sh"), MONITOR_CHECKS]
        if cpus > 1:
            out.write("TV_SMP_CPUS=%d\n" % cpus)
            parts.insert(1, SMP_CHECKS)
        for part in parts:
            if part == MONITOR_CHECKS and attack:
                out.write(attack.script())
            with open(part) as f:
                out.write(f.read() + "\n")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="1")
    proc = subprocess.run(["mcopy", "-o", "-i", disk + "@@1M", script, "::/tvscript.sh"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        raise RuntimeError("mcopy failed: %s" % proc.stdout.strip()[-300:])
    return disk


# --- one Bochs run -------------------------------------------------------------------------

class Drain(threading.Thread):
    """Reads and discards a terminal. Bochs' term display writes the guest's VGA text to a
    pseudo-terminal it creates itself; unread, that terminal fills up and Bochs blocks."""

    def __init__(self, fd, keep=None):
        super().__init__(daemon=True)
        self.fd, self.keep, self.tail = fd, keep, b""

    def run(self):
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            if self.keep is not None:
                self.tail = (self.tail + data)[-8192:]
                m = SCREEN_RE.search(self.tail)
                if m and self.keep.get("screen") is None:
                    self.keep["screen"] = m.group(1).decode()


def spawn_bochs(work, timeout):
    pid, master = pty.fork()
    if pid == 0:  # child: Bochs' stdio is this pseudo-terminal
        os.chdir(work)
        os.environ["TERM"] = "xterm"
        try:
            os.execvp("timeout", ["timeout", "--kill-after=5", str(timeout), "bochs", "-q", "-f",
                                  "bochsrc.txt", "-rc", "dbgcmds.txt"])
        finally:
            os._exit(127)
    return pid, master


def stop(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def fresh_logs(out_dir):
    """COM1, COM2 and Bochs's own log files in out_dir, with an earlier run's removed."""
    com1, com2 = os.path.join(out_dir, "console.log"), os.path.join(out_dir, "monitor.log")
    log = os.path.join(out_dir, "bochs.log")
    for p in (com1, com2, log):
        if os.path.exists(p):
            os.unlink(p)
    return com1, com2, log


def write_config(run, work, iso, disk, out_dir, attack=None):
    """bochsrc.txt and the debugger's commands in `work`; returns the COM1 and COM2 files.
    With `attack`: the guest disk is the primary master, a scratch disk its slave, the CD the
    secondary master (BIOS drive 0x80 is still the guest disk), plus the e1000 and COM1 on a
    socket."""
    com1, com2, log = fresh_logs(out_dir)
    with open(os.path.join(BOCHS_DIR, "bochsrc.in")) as f:
        rc = f.read()
    drives = "ata0-master: type=cdrom, path=%s, status=inserted\nata0-slave: type=disk, path=%s, mode=flat" % (iso, disk)
    com1_mode, nic = "mode=file, dev=%s" % com1, ""
    if attack:
        drives = ("ata0-master: type=disk, path=%s, mode=flat\nata0-slave: type=disk, path=%s, mode=flat\n"
                  "ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15\n"
                  "ata1-master: type=cdrom, path=%s, status=inserted" % (disk, attack.scratch, iso))
        fields = attack.start(com1)
        com1_mode, nic = fields["com1"], fields["nic"]
    for key, value in (("MEGS", str(MEGS)), ("MODEL", run.model), ("COUNT", str(run.cpus)), ("DRIVES", drives),
                       ("NIC", nic), ("COM1", com1_mode), ("COM2", com2), ("LOG", log)):
        rc = rc.replace("@%s@" % key, value)
    with open(os.path.join(work, "bochsrc.txt"), "w") as f:
        f.write(rc)
    with open(os.path.join(work, "dbgcmds.txt"), "w") as f:
        f.write("c\n")  # this Bochs has the debugger built in: continue at once
    return com1, com2


def run_bochs(run, work, iso, disk, stop_re, out_dir, attack=None):
    com1, com2 = write_config(run, work, iso, disk, out_dir, attack)
    start = time.monotonic()
    info = {}
    pid, master = spawn_bochs(work, run.timeout)
    Drain(master, info).start()
    screen_fd, status, stopped = None, None, False
    try:
        while status is None:
            if screen_fd is None and info.get("screen"):
                screen_fd = os.open(info["screen"], os.O_RDONLY | os.O_NOCTTY)
                tty.setraw(screen_fd)  # no echo back into Bochs' keyboard, no line buffering
                Drain(screen_fd).start()
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
                break
            if _stopping.is_set():
                stop(pid)
                status = os.waitpid(pid, 0)[1]
                break
            if attack:
                attack.poll(read(com2))
            if re.search(stop_re, read(com1) + "\n" + read(com2)):
                time.sleep(1)  # let the last lines reach the files
                stopped = True
                stop(pid)
                status = os.waitpid(pid, 0)[1]
                break
            time.sleep(0.5)
    finally:
        if status is None:
            stop(pid)
            os.waitpid(pid, 0)
        for fd in (master, screen_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
    rc = os.waitstatus_to_exitcode(status)
    if _stopping.is_set():
        raise RuntimeError("interrupted")
    return {"secs": time.monotonic() - start, "stopped": stopped, "timed_out": (rc == 124 or rc == -9) and not stopped,
            "console": read(com1), "monitor": read(com2)}


# --- judging ---------------------------------------------------------------------------------

RANGE_RE = re.compile(r"^TV-RANGE (0x[0-9a-fA-F]+) (0x[0-9a-fA-F]+)\s*$", re.M)
REGION_RE = re.compile(r"monitor region 0x([0-9a-fA-F]+)-0x([0-9a-fA-F]+)")
COUNTS_RE = re.compile(r"power-off: exit counts (.*)$", re.M)
# The guest's cpuprobe (monitor-checks.sh): under QEMU the VMX instructions raise #UD in the
# emulator itself, so only a VT-x run shows that the monitor answers their exits with #UD (a
# #GP would kill the probe, and its remaining lines would be missing).
CPU_PROBE_MARKERS = ["TV-CHECK ok: cpuid-no-vmx", "TV-CHECK ok: vmx-msrs-absent",
                     "TV-CHECK ok: feature-control-vmx-off", "TV-CHECK ok: feature-control-locked",
                     "TV-CHECK ok: vmread-ud", "TV-CHECK ok: vmptrst-ud", "TV-CHECK ok: invept-ud"]
BOOT_MARKERS = ["TV-CHECK ok: vmx-hidden", "TV-CHECK ok: iomem", "TV-CHECK ok: memprobe",
                "TV-CHECK ok: fill", "TV-CHECK ok: ctl"] + CPU_PROBE_MARKERS


def tail(text, n=2):
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return " | ".join(lines[-n:])[:300] or "(empty)"


def judge_boot(r):
    console, monitor = r["console"], r["monitor"]
    problems = []
    problems += [l.strip()[:300] for l in monitor.splitlines() if "PANIC" in l]
    if "cpu: using Intel VT-x" not in monitor:
        problems.append("the monitor did not choose the VT-x backend (monitor.log ends: %s)" % tail(monitor))
    if GUEST_UP not in console:
        problems.append("the guest never printed '%s' (console ends: %s; monitor.log ends: %s)"
                        % (GUEST_UP, tail(console), tail(monitor)))
    problems += ["missing '%s'" % m for m in BOOT_MARKERS if GUEST_UP in console and m not in console]
    problems += [l.strip()[:200] for l in console.splitlines() if "TV-CHECK FAIL" in l]
    m = RANGE_RE.search(console)
    if GUEST_UP in console and m:
        base, size = int(m.group(1), 16), int(m.group(2), 16)
        regions = [(int(a, 16), int(b, 16)) for a, b in REGION_RE.findall(monitor)]
        if (base, base + size) not in regions:
            problems.append("the guest's TV-RANGE %#x+%#x is not the monitor region in monitor.log" % (base, size))
    if not COUNTS_RE.search(monitor):
        problems.append("monitor.log has no power-off exit counts")
    if r["timed_out"] and not problems:
        problems.append("timed out")
    return problems


def judge_smp(run, r):
    problems = ["missing '%s'" % m for m in SMP_MARKERS if GUEST_UP in r["console"] and m not in r["console"]]
    m = SMP_RE.search(r["monitor"])
    if not m or int(m.group(1)) != run.cpus:
        problems.append("monitor.log does not show %d processors under the monitor (%s)"
                        % (run.cpus, m.group(0) if m else "no 'smp:' summary"))
    return problems


def judge_refusal(run, r):
    both = r["console"] + "\n" + r["monitor"]
    problems = []
    if not re.search(r"refusing to start: .*" + run.refusal, both):
        problems.append("no refusal naming /%s/ (console ends: %s; monitor.log ends: %s)"
                        % (run.refusal, tail(r["console"]), tail(r["monitor"])))
    if GUEST_UP in r["console"]:
        problems.append("the guest booted although the CPU lacks the feature")
    return problems


def one(run, iso, tmp, keep):
    out_dir = os.path.join(RESULTS, run.name)
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=run.name + "-", dir=tmp)
    attack = None
    try:
        if run.attacks:
            attack = bxa.AttackRun(work)
            iso = attack.iso(MONITOR, run.cmdline)
        disk = build_disk(work, run.cpus, attack)
        # Stop as soon as the outcome is known: power-off counts, a refusal, a panic.
        stop_re = r"thinvisor: halted|guest is NOT booted|nothing to boot|Kernel panic - |" + (COUNTS_RE.pattern if run.boots else GUEST_UP)
        r = run_bochs(run, work, iso, disk, stop_re, out_dir, attack)
        problems = judge_boot(r) if run.boots else judge_refusal(run, r)
        if run.boots and run.cpus > 1:
            problems += judge_smp(run, r)
        if attack:
            with _print_lock:
                r["attack_failures"] = attack.judge(r["console"], r["monitor"])
            # The evidence next to the logs: the frame dump, and the scratch disk when it is needed.
            for f in ("wire.pcap",) + (("ide-scratch.img",) if r["attack_failures"] else ()):
                if os.path.exists(os.path.join(work, f)):
                    shutil.copy(os.path.join(work, f), out_dir)
    except Exception as e:  # a broken run is a failure, not a crash of the suite
        return run, {"secs": 0}, ["%s: %s" % (type(e).__name__, e)]
    finally:
        if attack:
            attack.close()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    return run, r, problems


def missing_tools():
    need = ["bochs", "grub-mkrescue", "xorriso", "mcopy", "timeout"]
    out = [t for t in need if shutil.which(t) is None]
    out += [p for p in (MONITOR, DISK) if not os.path.isfile(p)]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", metavar="PATTERN", help="runs whose name contains PATTERN or matches it as a glob")
    ap.add_argument("--jobs", "-j", type=int, default=2, help="Bochs runs at a time (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (printed)")
    ap.add_argument("--list", action="store_true", help="list the runs and exit")
    args = ap.parse_args(argv)
    selected = [r for r in RUNS if matches(r.name, args.only) and (args.only or not r.optional)]
    if args.list:
        for r in RUNS:
            print("%s (%s)%s%s" % (r.name, r.model, "  (optional)" if r.optional else "",
                                   "" if r in selected else "  (not selected)"))
        return 0
    if not selected:
        say("FAIL bochs: no run matches '%s'" % args.only)
        return 1
    missing = missing_tools()
    if missing:
        for r in selected:
            say("FAIL %s: missing %s" % (r.name, ", ".join(missing)))
        return 1

    for sig in (signal.SIGTERM, signal.SIGINT):  # e.g. the runner's `timeout`: still clean up
        signal.signal(sig, lambda *_: _stopping.set())
    tmp = tempfile.mkdtemp(prefix="tv-bochs-")
    failed = 0
    try:
        isos = {}
        for r in selected:
            if r.cmdline not in isos:
                isos[r.cmdline] = build_iso(tmp, r.cmdline)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(2, args.jobs))) as pool:
            futures = [pool.submit(one, r, isos[r.cmdline], tmp, args.keep) for r in selected]
            for fut in concurrent.futures.as_completed(futures):
                run, r, problems = fut.result()
                failed += 1 if r.get("attack_failures") else 0
                if problems:
                    failed += 1
                    say("FAIL %s: %s [%.0fs] (logs: %s)" % (run.name, "; ".join(problems), r["secs"],
                                                           os.path.relpath(os.path.join(RESULTS, run.name))))
                elif run.boots:
                    counts = COUNTS_RE.search(r["monitor"]).group(1).strip()
                    say("PASS %s [%.0fs] %s exits: %s" % (run.name, r["secs"], run.model, counts))
                else:
                    say("PASS %s [%.0fs] %s refused: %s" % (run.name, r["secs"], run.model,
                                                           re.search(run.refusal, r["console"] + r["monitor"]).group(0)))
    except RuntimeError as e:
        say("FAIL bochs-setup: %s" % e)
        failed += 1
    finally:
        if args.keep:
            say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
