#!/usr/bin/env python3
"""The Debian package on a BIOS machine with GRUB (issue 19, docs/install.md).

One installed system, built without root or loop devices (tests/install/grub_image.py): an
ext4 root with the guest's kernel and initramfs in /boot, Debian's own /etc/grub.d scripts and
GRUB in the MBR. Then, as an administrator would:
  package-lint          lintian finds no error in build/deb/thinvisor_*.deb
  package-install       dpkg --root installs it into the system, its postinst running
                        (chrootless, DPKG_ROOT set); update-grub is then run "inside" the
                        system: the real grub-mkconfig with the system's /etc and /boot
                        bind-mounted over the host's in a private mount namespace (root, as
                        CI has), so grub.cfg comes from Debian's scripts plus 42_thinvisor
  chain-grub-monitor-grub-linux
                        QEMU boots the disk: GRUB loads the monitor by multiboot with
                        /etc/thinvisor/thinvisor.conf, the monitor boots the MBR again, the
                        second GRUB finds the monitor's marker and boots Linux, whose checks
                        (monitor-checks.sh) pass under the monitor
  reset-clears-planted-marker
                        the installed disk again: a root guest under the monitor writes the
                        marker itself and resets; QEMU pauses at the reset (-action) and the
                        dword at 0x4F0 must read 0 there (the monitor cleared it first)
  refusal-halts-with-reason
                        the same disk on a CPU without nested paging (qemu64,+svm): the monitor
                        refuses with its reason on the console and the OS is NOT booted
                        (docs/install.md: halting is the default, booting unprotected is not)
  refusal-boots-os-when-allowed
                        THINVISOR_ON_REFUSAL=boot-os in /etc/default/thinvisor, update-grub: on
                        that CPU the monitor refuses, resets after 10 s, and GRUB's one-shot
                        flag boots Linux unprotected (bare-checks.sh: no monitor)
  purge-boots-bare      dpkg --purge, update-grub again: the same disk boots Linux without the
                        monitor (thinvisor-ctl: not present), and nothing of the package is left
Prints PASS/FAIL per check; logs in build/test-results/install-bios/.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _install import BUILD, CHECKS, GUEST, ROOT, package, read, report, results  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "install"))
import grub_image  # noqa: E402

OUT = os.path.join(BUILD, "test-results", "install-bios")
FAKES = os.path.join(ROOT, "tests", "install")
BOOT_TIMEOUT = 420


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def dpkg(stage, *args):
    env = dict(os.environ, THINVISOR_FIRMWARE="bios", PATH=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    return run(["dpkg", "--root=" + stage, "--force-script-chrootless", "--force-depends",
                "--log=" + os.path.join(OUT, "dpkg.log")] + list(args), env=env)


def update_grub_inside(stage):
    """update-grub as the installed system would run it (see the module's docstring)."""
    script = ";".join([
        "set -e",
        "mount --bind %s/etc /etc" % stage,
        "mount --bind %s/boot /boot" % stage,
        "mount --bind %s/grub-probe /usr/sbin/grub-probe" % FAKES,
        "mount --bind %s/grub-mkrelpath /usr/bin/grub-mkrelpath" % FAKES,
        "update-grub",
    ])
    return run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
               env=dict(os.environ, THINVISOR_FIRMWARE="bios", PATH="/usr/sbin:/usr/bin:/sbin:/bin"))


def start_qemu(disk, script, name, cpu, timeout, extra=()):
    """QEMU pc from SeaBIOS on the disk (snapshot): COM1 = the guest's console (GRUB, Linux),
    COM2 = the monitor's log, both files in OUT/name. Returns (process, com1, com2)."""
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    com1, com2 = os.path.join(d, "console.log"), os.path.join(d, "monitor.log")
    cmd = ["timeout", "-k", "5", str(timeout), "qemu-system-x86_64", "-machine", "pc", "-accel", "tcg",
           "-cpu", cpu, "-m", "512M", "-display", "none", *extra,
           "-drive", "file=%s,format=raw,if=ide,snapshot=on" % disk,
           "-fw_cfg", "name=opt/thinvisor/script,file=" + script,
           "-serial", "file:" + com1, "-serial", "file:" + com2]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return p, com1, com2


def boot(disk, script, name, cpu="max", timeout=BOOT_TIMEOUT, stop_at=None):
    """Boots the disk from SeaBIOS (no -kernel): COM1 = the guest's console (GRUB, Linux),
    COM2 = the monitor's log. The guest script powers the machine off."""
    p, com1, com2 = start_qemu(disk, script, name, cpu, timeout)
    t0 = time.monotonic()
    while p.poll() is None:
        time.sleep(1)
        if stop_at and stop_at in read(com1).replace("\r", "").replace("\n", ""):
            time.sleep(2)
            os.killpg(p.pid, 9)
            p.wait()
            return "stopped", read(com1), read(com2), time.monotonic() - t0
    return p.returncode, read(com1), read(com2), time.monotonic() - t0


def hmp(sock_path, command):
    """One human-monitor command over QEMU's -monitor unix socket: its output."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock_path)
        out = b""
        s.sendall(command.encode() + b"\n")
        end = time.monotonic() + 10
        while time.monotonic() < end and out.count(b"(qemu)") < 2:
            try:
                chunk = s.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
        return out.decode("utf-8", "replace")


def marker_at_reset(disk, script, name, timeout=BOOT_TIMEOUT):
    """Boots the disk with QEMU told to pause at the guest's reset instead of resetting; once
    paused, reads the dword at 0x4F0 (None if the machine never paused). Returns (dword,
    console, seconds)."""
    sock = os.path.join(OUT, name, "hmp.sock")
    p, com1, com2 = start_qemu(disk, script, name, "max", timeout, (
        "-action", "reboot=shutdown,shutdown=pause", "-monitor", "unix:%s,server=on,wait=off" % sock))
    t0 = time.monotonic()
    word = None
    try:
        while p.poll() is None:
            time.sleep(2)
            if "TV-MARKER planted" not in read(com1) or not os.path.exists(sock):
                continue
            if "paused" in hmp(sock, "info status"):
                m = re.search(r"0*4f0: (0x[0-9a-f]+)", hmp(sock, "xp /1wx 0x4f0"))
                word = int(m.group(1), 16) if m else None
                break
    finally:
        if p.poll() is None:
            os.killpg(p.pid, 9)
        p.wait()
    return word, read(com1), time.monotonic() - t0


def main():
    for need in (os.path.join(GUEST, "vmlinuz"), os.path.join(GUEST, "initrd.img")):
        if not os.path.exists(need):
            print("FAIL install-bios: %s missing (make guest)" % need)
            return 1
    deb = package()
    if not deb:
        print("FAIL install-bios: no package in build/deb (make deb)")
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    stage = os.path.join(OUT, "root")
    disk = os.path.join(OUT, "disk.img")
    cmdline = open(os.path.join(GUEST, "cmdline")).read().strip()
    grub_image.make_root(stage, os.path.join(GUEST, "vmlinuz"), os.path.join(GUEST, "initrd.img"), cmdline)

    lint = run(["lintian", "--fail-on", "error", deb])
    report("package-lint", lint.returncode == 0 and not re.search(r"^E: ", lint.stdout, re.M),
           (lint.stdout + lint.stderr)[-400:])

    inst = dpkg(stage, "-i", deb)
    grub = update_grub_inside(stage)
    cfg_path = os.path.join(stage, "boot/grub/grub.cfg")
    cfg = open(cfg_path).read() if os.path.exists(cfg_path) else ""
    with open(os.path.join(OUT, "install.log"), "w") as f:
        f.write(inst.stdout + inst.stderr + grub.stdout + grub.stderr)
    installed = (inst.returncode == 0 and grub.returncode == 0
                 and os.path.exists(os.path.join(stage, "boot/thinvisor/thinvisor.elf"))
                 and "menuentry 'thinvisor'" in cfg and "read_dword -v thinvisor_marker 0x4F0" in cfg
                 and "module /etc/thinvisor/thinvisor.conf /etc/thinvisor/thinvisor.conf" in cfg
                 and re.search(r"menuentry 'Debian GNU/Linux", cfg) is not None)
    report("package-install", installed, "dpkg rc %d, update-grub rc %d: %s" % (
        inst.returncode, grub.returncode, (inst.stderr + grub.stderr)[-400:]))
    if not installed:
        return 1

    grub_image.write_disk(disk, stage)
    rc, con, mon, secs = boot(disk, os.path.join(CHECKS, "monitor-checks.sh"), "installed")
    chain = [con.find("Loading thinvisor"), mon.find("boot chain: marker"),
             con.find("thinvisor: running under the monitor, booting the OS"), con.find("Linux version")]
    fails = re.findall(r"TV-CHECK FAIL: .*", con)
    oks = re.findall(r"TV-CHECK ok: ", con)
    ok = (all(i >= 0 for i in chain) and chain[0] < chain[2] < chain[3] and not fails and len(oks) >= 3
          and "refusing" not in mon)
    report("chain-grub-monitor-grub-linux", ok, "chain %s, %d ok, fails %s, qemu rc %s after %.0f s" % (
        chain, len(oks), fails[:3], rc, secs))

    # A root guest plants the marker and resets: the monitor clears it before the reset goes
    # through. QEMU pauses at the reset (SeaBIOS zeroes 0x4F0 on every POST, so a second boot
    # could not tell) and the host reads the dword through QEMU's monitor.
    word, con, secs = marker_at_reset(disk, os.path.join(CHECKS, "marker-reboot.sh"), "marker-reset")
    ok = word == 0 and "TV-MARKER planted: 0x4f0 reads 0x31425654" in con
    report("reset-clears-planted-marker", ok, "0x4F0 at the reset: %s after %.0f s; guest said %s" % (
        word if word is None else "%#x" % word, secs, re.findall(r"TV-MARKER [^\r\n]*", con)))

    # The monitor halts for good after a refusal: the run is stopped 2 s after the line.
    rc, con, mon, secs = boot(disk, os.path.join(CHECKS, "monitor-checks.sh"), "refusal", cpu="qemu64,+svm",
                              timeout=150, stop_at="the guest is NOT booted")
    flat = con.replace("\r", "").replace("\n", "")
    ok = ("Loading thinvisor" in con and "thinvisor: refusing to start: " in flat
          and "the guest is NOT booted" in flat and "Linux version" not in con and rc == "stopped")
    report("refusal-halts-with-reason", ok, "qemu rc %s; console tail %r" % (rc, con[-300:]))

    with open(os.path.join(stage, "etc/default/thinvisor"), "a") as f:
        f.write("THINVISOR_ON_REFUSAL=boot-os\n")
    grub = update_grub_inside(stage)
    cfg = open(cfg_path).read() if os.path.exists(cfg_path) else ""
    grub_image.write_disk(disk, stage)
    rc, con, mon, secs = boot(disk, os.path.join(CHECKS, "bare-checks.sh"), "refusal-boot-os", cpu="qemu64,+svm")
    flat = con.replace("\r", "").replace("\n", "")
    ok = (grub.returncode == 0 and "on_refusal=reset" in cfg and "thinvisor: refusing to start: " in flat
          and "resetting in 10 s" in flat and "the monitor refused to start on the last boot" in flat
          and "TV-CHECK ok: bare" in con and "thinvisor-ctl info exit status: 2" in con)
    report("refusal-boots-os-when-allowed", ok, "update-grub rc %d, qemu rc %s after %.0f s; console tail %r" % (
        grub.returncode, rc, secs, con[-300:]))

    purge = dpkg(stage, "--purge", "thinvisor")
    grub2 = update_grub_inside(stage)
    cfg = open(cfg_path).read() if os.path.exists(cfg_path) else ""
    left = [p for p in ("boot/thinvisor/thinvisor.elf", "etc/grub.d/42_thinvisor", "etc/thinvisor",
                        "usr/sbin/thinvisor-ctl", "etc/default/thinvisor") if os.path.lexists(os.path.join(stage, p))]
    grub_image.write_disk(disk, stage)
    rc2, con2, mon2, secs2 = boot(disk, os.path.join(CHECKS, "bare-checks.sh"), "purged")
    ok = (purge.returncode == 0 and grub2.returncode == 0 and not left and "thinvisor" not in cfg
          and "TV-CHECK ok: bare" in con2 and "thinvisor-ctl info exit status: 2" in con2
          and "Loading thinvisor" not in con2 and mon2.strip() == "")
    report("purge-boots-bare", ok, "dpkg rc %d, update-grub rc %d, left %s, thinvisor in grub.cfg %s, "
           "console tail %r" % (purge.returncode, grub2.returncode, left, "thinvisor" in cfg, con2[-300:]))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
