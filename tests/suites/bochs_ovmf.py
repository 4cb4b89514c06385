#!/usr/bin/env python3
"""Bochs + OVMF suite: thinvisor's UEFI path on Intel VT-x (Bochs 2.7, VMX with EPT).

Bochs 2.7 runs Debian's 2 MiB OVMF build when its variable store and code are concatenated
into one flash image (OVMF_VARS.fd + OVMF_CODE.fd, as the old combined OVMF.fd was) and
mapped at 0xFFE00000 with `romimage: address=`. Without QEMU's fw_cfg OVMF has no ACPI tables
(the monitor then sees one CPU and no FADT) but reaches its boot manager and its built-in
UEFI shell. Runs:
  bochs-ovmf-<model>    OVMF boots the ESP's \\EFI\\BOOT\\BOOTX64.EFI (the GNU-EFI loader)
                        which starts the monitor; the monitor resumes the firmware in long
                        mode as its VMX guest (GuestStart::LongMode: IA-32e entry, the
                        captured segments, TR synthesized from OVMF's TR = 0). The loader
                        has no next loader, so the firmware carries on under the monitor to
                        its next boot entry, the UEFI shell, whose startup.nsh prints a
                        marker and powers off
  bochs-ovmf-linux-<model>  (3.5-4 minutes of one core; --without-linux or
                        TV_BOCHS_OVMF_LINUX=0 leaves it out) the loader starts the
                        monitor and chains to the demo guest's kernel as an EFI stub
                        (build/guest/vmlinuz, initrd and console=ttyS0 in LoadOptions, as
                        tests/suites/uefi.py does); Linux copes without ACPI tables (one
                        CPU, virtual-wire APIC mode) and runs uefi-checks.sh,
                        tests/bochs/guest-checks.sh and monitor-checks.sh from the ESP's
                        /tvscript.sh. Without a FADT the guest cannot power off (nor can
                        the monitor log it): the run ends at the kernel's "reboot: System
                        halted"

Prints `PASS name [secs]` or `FAIL name: why`, exits 1 on any failure. Each Bochs under
`timeout`. Logs: build/test-results/<name>/ (console.log = COM1, monitor.log = COM2,
bochs.log). Python 3 standard library only; Bochs plumbing shared with tests/suites/bochs.py.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bochs  # noqa: E402  (spawn/drain/stop helpers)

ROOT = bochs.ROOT
EFI = os.path.join(ROOT, "build", "thinvisor.efi")
INSTALL = os.path.join(ROOT, "tools", "thinvisor-install-efi")
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS.fd"  # the 2 MiB build: 128 KiB of variables...
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE.fd"  # ...then the code, up to 4 GiB
ROM_ADDRESS = "0xffe00000"
MARKER = "TV-OVMF-SHELL-UP"
STARTUP_NSH = "@echo -off\r\necho %s\r\nreset -s\r\n" % MARKER


@dataclass
class Run:
    name: str
    model: str
    cmdline: str = ""
    timeout: int = 400
    linux: bool = False  # chain to the Linux EFI stub (left out by --without-linux)


RUNS = [Run("bochs-ovmf-haswell", "corei7_haswell_4770"),
        Run("bochs-ovmf-linux-haswell", "corei7_haswell_4770", timeout=900, linux=True)]

KERNEL = os.path.join(ROOT, "build", "guest", "vmlinuz")
INITRD = os.path.join(ROOT, "build", "guest", "initrd.img")
GUEST_SCRIPTS = [os.path.join(ROOT, "tests", "qemu", "guest", "uefi-checks.sh"),
                 os.path.join(ROOT, "tests", "bochs", "guest-checks.sh"), bochs.MONITOR_CHECKS]
# clearcpuid=fsrm as in tools/guest/build-bochs-guest.sh (needed only on Ice Lake and later).
KERNEL_OPTIONS = "initrd=\\initrd.img console=ttyS0,115200 panic=-1 nokaslr clearcpuid=fsrm"
LINUX_END = "reboot: System halted"  # poweroff -f without ACPI: the kernel halts
EFI_MARKERS = ["TV-CHECK ok: efi-booted", "TV-CHECK ok: efi-runtime-variables",
               "TV-CHECK ok: efi-map-reserves-monitor"]


def firmware_image(tmp):
    path = os.path.join(tmp, "ovmf.fd")
    with open(path, "wb") as out:
        for part in (OVMF_VARS, OVMF_CODE):
            with open(part, "rb") as f:
                out.write(f.read())
    if os.path.getsize(path) != 2 << 20:
        raise RuntimeError("%s + %s is not a 2 MiB flash image" % (OVMF_VARS, OVMF_CODE))
    return path


def esp_image(tmp, cmdline, linux=False):
    img = os.path.join(tmp, "esp.img")
    nsh = os.path.join(tmp, "startup.nsh")
    with open(nsh, "w") as f:
        f.write(STARTUP_NSH)
    cmd = [sys.executable, INSTALL, "--esp", img, "--create-image", "64", "--efi", EFI,
           "--monitor", bochs.MONITOR, "--add", "%s=/startup.nsh" % nsh]
    if linux:  # the guest's /init finds /tvscript.sh on the first disk's FAT partition
        script = os.path.join(tmp, "tvscript.sh")
        with open(script, "w") as out:
            for part in GUEST_SCRIPTS:
                with open(part) as f:
                    out.write(f.read() + "\n")
        cmd += ["--add", "%s=/vmlinuz" % KERNEL, "--add", "%s=/initrd.img" % INITRD,
                "--add", "%s=/tvscript.sh" % script, "--next", "/vmlinuz", "--next-options", KERNEL_OPTIONS]
    if cmdline:
        cmd += ["--cmdline", cmdline]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError("thinvisor-install-efi failed: %s" % r.stdout.strip()[-300:])
    return img


def write_config(run, work, rom, esp, out_dir):
    com1, com2, log = bochs.fresh_logs(out_dir)
    rc = "\n".join([
        "display_library: term",
        "megs: 256",
        "romimage: file=%s, address=%s" % (rom, ROM_ADDRESS),
        "vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest",
        "cpu: model=%s, count=1, reset_on_triple_fault=0, ips=50000000" % run.model,
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        "ata0-master: type=disk, path=%s, mode=flat" % esp,
        "boot: disk",
        "com1: enabled=1, mode=file, dev=%s" % com1,
        "com2: enabled=1, mode=file, dev=%s" % com2,
        "log: %s" % log,
        "panic: action=fatal", "error: action=report", "info: action=report", "debug: action=ignore", ""])
    with open(os.path.join(work, "bochsrc.txt"), "w") as f:
        f.write(rc)
    with open(os.path.join(work, "dbgcmds.txt"), "w") as f:
        f.write("c\n")
    return com1, com2


def run_bochs(run, work, rom, esp, out_dir):
    """bochs.run_bochs with this suite's configuration (the same pty handling)."""
    saved = bochs.write_config
    bochs.write_config = lambda r, w, iso, disk, out, attack=None: write_config(r, w, rom, esp, out)
    try:
        end = re.escape(LINUX_END) + r"|reboot: Power down|Kernel panic - " if run.linux else MARKER
        stop_re = r"%s|PANIC|VM entry failed|thinvisor: halted" % end
        return bochs.run_bochs(run, work, None, None, stop_re, out_dir)
    finally:
        bochs.write_config = saved


def judge(r):
    console, monitor = r["console"], r["monitor"]
    problems = [l.strip()[:300] for l in monitor.splitlines() if "PANIC" in l or "VM entry failed" in l]
    want = [("monitor.log", monitor, "cpu: using Intel VT-x"),
            ("monitor.log", monitor, "guest: resuming the UEFI loader"),
            ("console.log", console, "thinvisor: monitor running at"),
            ("console.log", console, "UEFI Interactive Shell")]
    problems += ["%s lacks '%s'" % (name, text) for name, log, text in want if text not in log]
    if not re.search(r"^%s" % MARKER, console, re.M):  # printed, not an echoed command
        problems.append("the shell's startup.nsh never ran under the monitor (console ends: %s)"
                        % bochs.tail(console))
    if r["timed_out"] and not problems:
        problems.append("timed out")
    return problems


def judge_linux(r):
    console, monitor = r["console"], r["monitor"]
    problems = [l.strip()[:300] for l in monitor.splitlines() if "PANIC" in l or "VM entry failed" in l]
    want = [("monitor.log", monitor, "cpu: using Intel VT-x"),
            ("monitor.log", monitor, "guest: resuming the UEFI loader"),
            ("console.log", console, "thinvisor: monitor running at"),
            ("console.log", console, "thinvisor: starting \\vmlinuz"),
            ("console.log", console, "EFI stub: Loaded initrd"),
            ("console.log", console, bochs.GUEST_UP)]
    problems += ["%s lacks '%s'" % (name, text) for name, log, text in want if text not in log]
    if bochs.GUEST_UP in console:
        problems += ["missing '%s'" % m for m in EFI_MARKERS + bochs.BOOT_MARKERS if m not in console]
    problems += [l.strip()[:200] for l in console.splitlines() if "TV-CHECK FAIL" in l or "Kernel panic - " in l]
    m = bochs.RANGE_RE.search(console)
    if m:
        base, size = int(m.group(1), 16), int(m.group(2), 16)
        regions = [(int(a, 16), int(b, 16)) for a, b in bochs.REGION_RE.findall(monitor)]
        if (base, base + size) not in regions:
            problems.append("the guest's TV-RANGE %#x+%#x is not the monitor region in monitor.log" % (base, size))
    if LINUX_END not in console and not problems:
        problems.append("the guest's checks never finished (console ends: %s)" % bochs.tail(console))
    if r["timed_out"] and not problems:
        problems.append("timed out")
    return problems


def one(run, tmp, keep):
    out_dir = os.path.join(bochs.RESULTS, run.name)
    os.makedirs(out_dir, exist_ok=True)
    work = tempfile.mkdtemp(prefix=run.name + "-", dir=tmp)
    try:
        rom = firmware_image(work)
        esp = esp_image(work, run.cmdline, run.linux)
        r = run_bochs(run, work, rom, esp, out_dir)
        return r, (judge_linux(r) if run.linux else judge(r))
    except Exception as e:  # a broken run is a failure, not a crash of the suite
        return {"secs": 0}, ["%s: %s" % (type(e).__name__, e)]
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", metavar="PATTERN", help="runs whose name contains PATTERN or matches it as a glob")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory (printed)")
    ap.add_argument("--list", action="store_true", help="list the runs and exit")
    ap.add_argument("--without-linux", action="store_true",
                    help="leave out the Linux EFI-stub runs (about 4 minutes each; also TV_BOCHS_OVMF_LINUX=0)")
    args = ap.parse_args(argv)
    with_linux = not args.without_linux and os.environ.get("TV_BOCHS_OVMF_LINUX") != "0"
    selected = [r for r in RUNS if bochs.matches(r.name, args.only) and (with_linux or not r.linux)]
    if args.list:
        for r in RUNS:
            print("%s (%s)%s%s" % (r.name, r.model, "  (Linux; --without-linux leaves it out)" if r.linux else "",
                                   "" if r in selected else "  (not selected)"))
        return 0
    if not selected:
        bochs.say("FAIL bochs-ovmf: no run matches '%s'" % args.only)
        return 1
    missing = [t for t in ("bochs", "timeout", "mcopy", "sfdisk", "mkfs.fat") if shutil.which(t) is None]
    missing += [p for p in (bochs.MONITOR, EFI, OVMF_VARS, OVMF_CODE) if not os.path.isfile(p)]
    if any(r.linux for r in selected):
        missing += [p for p in (KERNEL, INITRD) if not os.path.isfile(p)]
    if missing:
        for r in selected:
            bochs.say("FAIL %s: missing %s" % (r.name, ", ".join(missing)))
        return 1
    tmp = tempfile.mkdtemp(prefix="tv-bochs-ovmf-")
    failed = 0
    try:
        for run in selected:  # one at a time: each is short, and Bochs takes a whole core
            r, problems = one(run, tmp, args.keep)
            if problems:
                failed += 1
                bochs.say("FAIL %s: %s [%.0fs] (logs: %s)" % (run.name, "; ".join(problems), r["secs"],
                                                             os.path.relpath(os.path.join(bochs.RESULTS, run.name))))
            elif run.linux:
                bochs.say("PASS %s [%.0fs] %s: OVMF -> loader -> monitor (VT-x) -> Linux EFI stub, "
                          "the guest's checks ran" % (run.name, r["secs"], run.model))
            else:
                bochs.say("PASS %s [%.0fs] %s: OVMF resumed in long mode under VT-x, its shell ran"
                          % (run.name, r["secs"], run.model))
    finally:
        if args.keep:
            bochs.say("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
