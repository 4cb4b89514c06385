#!/usr/bin/env python3
"""UEFI suite: thinvisor booted by its GNU-EFI loader on OVMF (QEMU TCG, AMD-V emulated).

Each run builds an EFI system partition image with tools/thinvisor-install-efi (loader,
monitor, loader.conf) and boots it with OVMF_CODE_4M.fd and a private copy of
OVMF_VARS_4M.fd. Runs:
  uefi-linux-<machine>[-3G]     the loader starts the monitor (with thinvisor.conf as a
                                boot module), resumes as its guest and
                                chains to Debian's kernel as an EFI stub (initrd and
                                console=ttyS0 in LoadOptions). The guest runs
                                uefi-checks.sh (EFI runtime variables, monitor reserved in
                                the firmware's map) and monitor-checks.sh: every check of
                                the BIOS-path scenarios must hold, and the monitor log
                                must record the power-off
  uefi-linux-q35-encrypted-net  the same with the ESP on virtio-blk, plus an encrypted
                                AHCI data disk ([disk.data], passphrase typed on COM1) the
                                guest reads back, and [network] on an e1000 (QEMU user net):
                                the monitor leases an address by DHCP and its syslog reaches
                                a listener here, the guest gets its own lease and pings
  uefi-monitor-missing-*        no thinvisor.elf on the ESP: a clear message, everything
                                freed, an error status, the firmware tries its next entry
  uefi-monitor-corrupt-*        a truncated thinvisor.elf: the same
  uefi-next-loader-missing      the monitor runs, the next loader is absent: a clear
                                message, and the firmware carries on under the monitor
  uefi-refusal-frees-region     a CPU without nested paging: the monitor refuses, the
                                loader frees the 32 MiB region, the firmware carries on
  uefi-install-tool-errors      tools/thinvisor-install-efi refuses bad input clearly

Prints `PASS name [secs]` or `FAIL name: why` per run and exits 1 on any failure. Two QEMU
runs at a time, each under `timeout`. Logs: build/test-results/<name>/ (console.log =
COM1, monitor.log = COM2, qemu.log). Python 3 standard library only.
"""
import argparse
import concurrent.futures
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
sys.path.insert(0, HERE)
import qemu_run  # noqa: E402
import scenarios  # noqa: E402

BUILD = os.path.join(ROOT, "build")
EFI = os.path.join(BUILD, "thinvisor.efi")
MONITOR = os.path.join(BUILD, "thinvisor.elf")
KERNEL = os.path.join(BUILD, "guest", "vmlinuz")
INITRD = os.path.join(BUILD, "guest", "initrd.img")
INSTALL = os.path.join(ROOT, "tools", "thinvisor-install-efi")
GUEST_DIR = os.path.join(ROOT, "tests", "qemu", "guest")
CONFIG = os.path.join(ROOT, "tests", "qemu", "config", "valid", "thinvisor.conf")  # a boot module
RESULTS = os.path.join(BUILD, "test-results")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
KERNEL_OPTIONS = "initrd=\\initrd.img console=ttyS0,115200 panic=-1"
NEXT_ENTRY = r"BdsDxe: starting Boot0002"  # the firmware went on to its next boot entry
EFI_MARKERS = ["TV-CHECK ok: efi-booted", "TV-CHECK ok: efi-runtime-variables",
               "TV-CHECK ok: efi-map-reserves-monitor"]
MONITOR_STARTED = "guest: resuming the UEFI loader"

_print_lock = threading.Lock()


def say(line):
    with _print_lock:
        print(line, flush=True)


@dataclass
class Run:
    name: str
    prepare: Callable[[str], str]           # tmp dir -> ESP image path
    check: Callable[[str, dict], List[str]]  # (out dir, qemu_run result) -> problems
    machine: str = "q35"
    cpu: str = "max"
    mem: str = "512M"
    script: Optional[str] = None
    stop_on: Optional[str] = None
    timeout: float = 200
    cpus: int = 1  # -smp; >1 adds the SMP checks (tests/qemu/guest/smp-checks.sh)
    disk_net: bool = False  # run_disk_net: an encrypted data disk and the monitor's network


# --- ESP images ------------------------------------------------------------------------------

def install(tmp, *args):
    img = os.path.join(tmp, "esp.img")
    cmd = [sys.executable, INSTALL, "--esp", img, "--create-image", "64", *args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError("thinvisor-install-efi failed: %s" % r.stdout.strip()[-300:])
    return img


def mtools(img, *cmd):
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    r = subprocess.run([cmd[0], "-i", "%s@@1M" % img, *cmd[1:]], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (cmd[0], r.stdout.strip()))


def linux_esp(tmp):
    return install(tmp, "--add", "%s=/vmlinuz" % KERNEL, "--add", "%s=/initrd.img" % INITRD,
                   "--module", CONFIG, "--next", "/vmlinuz", "--next-options", KERNEL_OPTIONS)


def esp_without_monitor(tmp):
    img = install(tmp)
    mtools(img, "mdel", "::/EFI/thinvisor/thinvisor.elf")
    return img


def esp_with_truncated_monitor(tmp):
    img = install(tmp)
    cut = os.path.join(tmp, "thinvisor.elf")
    with open(MONITOR, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(24 * 1024))  # headers intact, segments cut short: a broken copy
    mtools(img, "mcopy", "-o", cut, "::/EFI/thinvisor/thinvisor.elf")
    return img


def esp_with_absent_next(tmp):
    img = install(tmp)
    conf = os.path.join(tmp, "loader.conf")
    with open(conf, "w") as f:
        f.write("next = \\EFI\\BOOT\\grubx64.efi\n")
    mtools(img, "mcopy", "-o", conf, "::/EFI/thinvisor/loader.conf")
    return img


# --- checks ------------------------------------------------------------------------------------

def logs(out):
    return scenarios.read_log(out, "console.log"), scenarios.read_log(out, "monitor.log")


def want(text, needles, where):
    return ["%s lacks '%s'" % (where, n) for n in needles if n not in text]


def check_linux(out, result):
    problems = scenarios.check_monitor(out, result)  # every check of the BIOS-path scenario
    console, monlog = logs(out)
    problems += want(console, EFI_MARKERS, "console.log")  # FAIL lines: check_monitor reports them
    problems += want(console, ["thinvisor: monitor running at", "thinvisor: starting \\vmlinuz"], "console.log")
    problems += want(monlog, [MONITOR_STARTED, "config: thinvisor.conf loaded"], "monitor.log")
    if "bios: INT 15h" in monlog:
        problems.append("the monitor ran the BIOS-only INT 15h hook under UEFI")
    return problems


def check_linux_smp(cpus, out, result):
    problems = check_linux(out, result)
    smp = scenarios.check_smp(cpus, lambda o, r: [], scenarios.SMP_MARKERS)
    return problems + smp(out, result)


def check_not_started(reason):
    def check(out, result):
        if result.get("error"):
            return [result["error"]]
        console, monlog = logs(out)
        problems = want(console, [reason, "thinvisor: released everything it allocated",
                                  "returning to the firmware", NEXT_ENTRY], "console.log")
        if "thinvisor: monitor region" in monlog:
            problems.append("the monitor started although the loader reported a failure")
        if not result.get("stopped_on_pattern"):
            problems.append("the firmware never went on to its next boot entry")
        return problems
    return check


def check_next_missing(out, result):
    if result.get("error"):
        return [result["error"]]
    console, monlog = logs(out)
    problems = want(console, ["thinvisor: monitor running at",
                              "thinvisor: cannot load the next loader \\EFI\\BOOT\\grubx64.efi from this "
                              "partition: Not Found", "BdsDxe: starting Boot0002"], "console.log")
    problems += want(monlog, [MONITOR_STARTED], "monitor.log")
    if not result.get("stopped_on_pattern"):
        problems.append("the firmware's next boot entry (the UEFI shell) never came up under the monitor")
    return problems


def check_refusal(out, result):
    problems = check_not_started("thinvisor: the monitor refused to start")(out, result)
    console, _ = logs(out)
    if "nested paging" not in console:
        problems.append("console.log does not name the missing feature (nested paging)")
    return problems


RUNS = [  # longest first, so that two at a time finish together
    Run("uefi-linux-q35-3G", linux_esp, check_linux, machine="q35", mem="3G", script="linux"),  # RAM above 4 GiB
    Run("uefi-linux-q35-smp2", linux_esp, lambda out, result: check_linux_smp(2, out, result), machine="q35",
        script="linux", timeout=400, cpus=2),
    Run("uefi-linux-pc", linux_esp, check_linux, machine="pc", script="linux"),
    # The ESP on virtio-blk (no mediator: a disk thinvisor.conf does not list would be refused),
    # an encrypted AHCI data disk unlocked on COM1, and [network] on an e1000 (QEMU user net).
    Run("uefi-linux-q35-encrypted-net", None, None, machine="q35", script="linux", timeout=300, disk_net=True),
    Run("uefi-monitor-missing-returns-error", esp_without_monitor,
        check_not_started("thinvisor: cannot read the monitor \\EFI\\thinvisor\\thinvisor.elf: Not Found"),
        stop_on=NEXT_ENTRY, timeout=60),
    Run("uefi-monitor-corrupt-returns-error", esp_with_truncated_monitor,
        check_not_started("is not a usable thinvisor monitor: a segment extends past the end of the file"),
        stop_on=NEXT_ENTRY, timeout=60),
    Run("uefi-next-loader-missing", esp_with_absent_next, check_next_missing,
        stop_on=r"UEFI Interactive Shell", timeout=90),
    Run("uefi-refusal-frees-region", lambda tmp: install(tmp), check_refusal, cpu="qemu64,+svm",
        stop_on=NEXT_ENTRY, timeout=60),
]


def guest_script(tmp, cpus=1):
    path = os.path.join(tmp, "uefi-linux.sh")
    names = ["uefi-checks.sh", "monitor-checks.sh"]
    with open(path, "w") as f:
        if cpus > 1:
            f.write("TV_SMP_CPUS=%d\n" % cpus)
            names.insert(0, "smp-checks.sh")
        for name in names:
            with open(os.path.join(GUEST_DIR, name)) as part:
                f.write(part.read() + "\n")
    return path


def qemu_extra(machine, tmp, img):
    vars_copy = os.path.join(tmp, "OVMF_VARS.fd")
    shutil.copyfile(OVMF_VARS, vars_copy)  # the firmware writes its variables
    bus = ",bus=ide.0" if machine == "pc" else ""
    return ["-drive", "if=pflash,format=raw,readonly=on,file=%s" % OVMF_CODE,
            "-drive", "if=pflash,format=raw,file=%s" % vars_copy,
            "-drive", "id=esp,file=%s,format=raw,if=none,snapshot=on" % img,
            "-device", "ide-hd,drive=esp%s,bootindex=0" % bus]


def run_one(run):
    out = os.path.join(RESULTS, run.name)
    with tempfile.TemporaryDirectory(prefix="tv-uefi-") as tmp:
        try:
            img = run.prepare(tmp)
        except (OSError, RuntimeError) as e:
            return run, {"wall_seconds": 0.0}, ["could not build the ESP: %s" % e]
        script = guest_script(tmp, run.cpus) if run.script else None
        result = qemu_run.run(out, machine=run.machine, cpu=run.cpu, mem=run.mem, monitor="none", disk=None,
                              script=script, timeout=run.timeout, stop_on=run.stop_on,
                              extra=qemu_extra(run.machine, tmp, img) + (["-smp", str(run.cpus)] if run.cpus > 1 else []))
    try:
        problems = run.check(out, result)
    except Exception as e:  # a broken check is a failure, not a crash of the suite
        problems = ["check raised %s: %s" % (type(e).__name__, e)]
    return run, result, problems


# --- UEFI with an encrypted disk and the monitor's network ---------------------------------

TOOL = os.path.join(BUILD, "tools", "thinvisor-disk")
DATA_PASSPHRASE = "uefi data disk passphrase"
DATA_MARKER = b"TVUEFIDATA-plaintext-marker-of-the-encrypted-disk"
MONITOR_MAC = "52:54:00:aa:bb:07"
DISK_NET_SCRIPT = """dd if=/dev/sda bs=%d count=1 2>/dev/null | sed 's/^/TV-DATA /'
""" % len(DATA_MARKER)


def disk_net_conf(syslog_port):
    # The ESP is on virtio-blk, which no mediator owns: OVMF, running on as the guest, reads the
    # kernel and initrd from it by DMA, so it needs an allow_dma line (docs/config.md states the risk).
    return ("[disk.data]\nserial = TVDATA01\nkeyslots = data.keys\n"
            "[network]\ndhcp = yes\nmac = %s\nsyslog = 10.0.2.2:%d\n"
            "[pci]\nallow_dma = 1af4:1001\n" % (MONITOR_MAC, syslog_port))


def encrypted_data_disk(tmp):
    """data.keys and a 4 MiB data.img holding DATA_MARKER at sector 0, encrypted with it."""
    pf = os.path.join(tmp, "data.pass")
    with open(pf, "w") as f:
        f.write(DATA_PASSPHRASE)
    keys = os.path.join(tmp, "data.keys")
    subprocess.run([TOOL, "format", keys, "--passphrase-file", pf, "--iterations", "2000", "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    image = os.path.join(tmp, "data.img")
    with open(image, "wb") as f:
        f.write(DATA_MARKER + b"\n")
        f.truncate(4 << 20)
    subprocess.run([TOOL, "encrypt", image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return image, keys


def check_disk_net(out, result, image, syslog):
    problems = check_linux(out, result)
    console, monlog = logs(out)
    problems += want(console, ["TV-CHECK ok: carrier", "TV-CHECK ok: dhcp", "TV-CHECK ok: ping"], "console.log")
    if "TV-DATA " + DATA_MARKER.decode() not in console:
        problems.append("the guest did not read the encrypted disk's marker")
    if "keys: disk 'data' unlocked with slot 0" not in monlog:
        problems.append("monitor.log does not record the unlock of the data disk")
    # (the port was idle at takeover, so the key attaches at the guest's own IDENTIFY, unlogged)
    if not re.search(r"ahci0: port 0: [1-9]\d* commands issued, [1-9]\d* completed, 0 refused", monlog):
        problems.append("the AHCI mediator did not carry the guest's commands to the data disk without refusal")
    with open(image, "rb") as f:
        if DATA_MARKER in f.read():
            problems.append("the marker is in plaintext in the raw image")
    if not re.search(r"net: address \S+ netmask \S+ gateway \S+ \(DHCP lease\)", monlog):
        problems.append("the monitor's network got no DHCP lease")
    if not any("net: monitor stack up" in m for m in syslog):
        problems.append("no 'net: monitor stack up' line reached the syslog listener (%d messages)" % len(syslog))
    if DATA_PASSPHRASE in console or DATA_PASSPHRASE in monlog:
        problems.append("the passphrase was echoed or logged")
    return problems


def run_disk_net(run):
    """COM1 on a socket (the passphrase is typed), so not qemu_run: the same logs, though."""
    import socket
    from _qemu_console import QemuConsole
    out = os.path.join(RESULTS, run.name)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))  # QEMU's user network delivers 10.0.2.2:port here
    listener.settimeout(0.2)
    start = time.monotonic()
    syslog = []
    with tempfile.TemporaryDirectory(prefix="tv-uefi-") as tmp:
        try:
            image, keys = encrypted_data_disk(tmp)
            conf = os.path.join(tmp, "thinvisor.conf")
            with open(conf, "w") as f:
                f.write(disk_net_conf(listener.getsockname()[1]))
            img = install(tmp, "--add", "%s=/vmlinuz" % KERNEL, "--add", "%s=/initrd.img" % INITRD, "--module", conf,
                          "--module", keys, "--next", "/vmlinuz", "--next-options", KERNEL_OPTIONS)
        except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
            listener.close()
            return run, {"wall_seconds": 0.0}, ["could not prepare the run: %s" % e]
        script = os.path.join(tmp, "uefi-disk-net.sh")
        with open(script, "w") as f:  # monitor-checks.sh powers off: it comes last
            f.write(DISK_NET_SCRIPT)
            for name in ("uefi-checks.sh", "mmio-e1000.sh", "monitor-checks.sh"):
                with open(os.path.join(GUEST_DIR, name)) as part:
                    f.write(part.read() + "\n")
        vars_copy = os.path.join(tmp, "OVMF_VARS.fd")
        shutil.copyfile(OVMF_VARS, vars_copy)
        args = ["-accel", "tcg", "-machine", run.machine, "-cpu", run.cpu, "-m", run.mem, "-display", "none",
                "-monitor", "none", "-no-reboot", "-nodefaults", "-vga", "std",
                "-drive", "if=pflash,format=raw,readonly=on,file=%s" % OVMF_CODE,
                "-drive", "if=pflash,format=raw,file=%s" % vars_copy,
                "-drive", "id=esp,file=%s,format=raw,if=none,snapshot=on" % img,
                "-device", "virtio-blk-pci,drive=esp,bootindex=0",
                "-drive", "id=data,file=%s,format=raw,if=none" % image,
                "-device", "ide-hd,drive=data,bus=ide.0,serial=TVDATA01",
                "-netdev", "user,id=n0", "-device", "e1000,netdev=n0",
                "-fw_cfg", "name=%s,file=%s" % (qemu_run.SCRIPT_FW_CFG_NAME, script)]
        problems = []
        q = QemuConsole(out, args, run.timeout)
        try:
            if q.read_until(b"passphrase for disk 'data'", 120):
                q.type(DATA_PASSPHRASE)
            else:
                problems.append("no passphrase prompt for the data disk")
            end = time.monotonic() + run.timeout
            while q.proc.poll() is None and time.monotonic() < end:
                q.read_until(b"\0never", 1)
                try:
                    while True:
                        syslog.append(listener.recv(4096).decode("utf-8", "replace"))
                except socket.timeout:
                    pass
            rc = q.proc.poll()
        finally:
            q.kill()
            listener.close()
        result = {"exit_code": rc, "timed_out": rc is None or rc == 124, "wall_seconds": time.monotonic() - start,
                  "timeout": run.timeout}
        with open(os.path.join(out, "syslog.txt"), "w") as f:
            f.write("\n".join(syslog))
        try:
            problems += check_disk_net(out, result, image, syslog)
        except Exception as e:  # a broken check is a failure, not a crash of the suite
            problems.append("check raised %s: %s" % (type(e).__name__, e))
    return run, result, problems


def install_tool_errors():
    """The installer's refusals, without QEMU: each must fail with a message naming why."""
    cases = []
    with tempfile.TemporaryDirectory(prefix="tv-uefi-") as tmp:
        esp = os.path.join(tmp, "esp")
        os.makedirs(os.path.join(esp, "EFI", "BOOT"))
        with open(os.path.join(esp, "EFI", "BOOT", "BOOTX64.EFI"), "wb") as f:
            f.write(b"MZ another loader")
        cases = [
            (["--esp", esp], "already holds another boot loader"),
            (["--esp", esp, "--force", "--next", "/missing.efi"], "is not on this partition"),
            (["--esp", esp, "--force", "--monitor", KERNEL], "is not a thinvisor monitor"),
            (["--esp", os.path.join(tmp, "nothing")], "no such directory or image file"),
            (["--esp", esp, "--force", "--next-options", "x"], "--next-options needs --next"),
        ]
        problems = []
        for args, expect in cases:
            r = subprocess.run([sys.executable, INSTALL, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            if r.returncode == 0 or expect not in r.stdout:
                problems.append("%s: status %d, output %r" % (" ".join(args[2:]) or "default", r.returncode,
                                                             r.stdout.strip()[-160:]))
        r = subprocess.run([sys.executable, INSTALL, "--esp", esp, "--force", "--next-options", "a b",
                            "--next", "/EFI/BOOT/BOOTX64.EFI"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        conf = os.path.join(esp, "EFI", "thinvisor", "loader.conf")
        if r.returncode != 0 or not os.path.isfile(conf):
            problems.append("a valid install into a directory failed: %s" % r.stdout.strip()[-200:])
    return problems


def matches(name, patterns):
    """--only: comma-separated globs or substrings, as tests/run_tests.py takes them."""
    if not patterns:
        return True
    for p in (x.strip() for x in patterns.split(",")):
        if p and ((any(c in p for c in "*?[") and fnmatch.fnmatch(name, p)) or p in name):
            return True
    return False


def missing_inputs():
    need = [(EFI, "make efi"), (MONITOR, "make"), (KERNEL, "make guest"), (INITRD, "make guest"),
            (OVMF_CODE, "package ovmf"), (OVMF_VARS, "package ovmf")]
    return ["%s (%s)" % (p, how) for p, how in need if not os.path.isfile(p)]


def main(argv=None):
    ap = argparse.ArgumentParser(description="thinvisor UEFI boot suite (OVMF under QEMU TCG)")
    ap.add_argument("--only", metavar="PATTERN", help="runs whose name contains or matches PATTERN")
    ap.add_argument("--jobs", "-j", type=int, default=2)
    ap.add_argument("--list", action="store_true", help="list the runs and exit")
    args = ap.parse_args(argv)
    runs = [r for r in RUNS if matches(r.name, args.only)]
    tool = matches("uefi-install-tool-errors", args.only)
    if args.list:
        print("\n".join([r.name for r in RUNS] + ["uefi-install-tool-errors"]))
        return 0
    if not runs and not tool:
        say("FAIL uefi: no run matches '%s'" % args.only)
        return 1
    missing = missing_inputs()
    if missing:
        for r in runs + ([Run("uefi-install-tool-errors", None, None)] if tool else []):
            say("FAIL %s: missing %s" % (r.name, ", ".join(missing)))
        return 1
    failed = 0
    if tool:
        start = time.monotonic()
        problems = install_tool_errors()
        failed += bool(problems)
        say("%s uefi-install-tool-errors%s [%.0fs]" % ("FAIL" if problems else "PASS",
                                                         ": " + "; ".join(problems) if problems else "",
                                                         time.monotonic() - start))
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        for fut in concurrent.futures.as_completed([pool.submit(run_disk_net if r.disk_net else run_one, r)
                                                    for r in runs]):
            run, result, problems = fut.result()
            secs = result.get("wall_seconds", 0.0)
            if problems:
                failed += 1
                say("FAIL %s: %s [%.0fs] (logs: build/test-results/%s/)" % (run.name, "; ".join(problems), secs,
                                                                            run.name))
            else:
                say("PASS %s [%.0fs]" % (run.name, secs))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        qemu_run.kill_all()
        os._exit(130)
