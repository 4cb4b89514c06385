#!/usr/bin/env python3
"""The Debian package on a UEFI machine with GRUB EFI (issue 19, docs/install.md).

One installed system, built without root or loop devices (tests/install/uefi_image.py): a GPT
disk with an ESP holding GRUB EFI as \\EFI\\debian\\grubx64.efi and an ext4 root with the
guest's kernel, /boot/grub/grub.cfg and the userland the package's scripts need (dpkg,
efibootmgr, python3...). OVMF with a private copy of its variable store, which every boot of
the run shares, like the disk. Three boots, each checked from both serial ports:
  package-install       first boot (plain Linux under OVMF, from the removable path: a fresh
                        variable store has no entry for the disk): the guest registers Debian's
                        GRUB with efibootmgr, as grub-install does, and runs `dpkg -i`; the
                        postinst's `thinvisor-boot enable` copies the loader to \\EFI\\thinvisor,
                        writes loader.conf with next = \\EFI\\debian\\grubx64.efi, saves BootOrder
                        and puts a `thinvisor` entry first
  re-enable-keeps-chain `thinvisor-boot enable` again (docs/install.md: after editing
                        /etc/thinvisor): thinvisor's entry is first now, yet the loader still
                        chains to GRUB, with one entry and the same BootOrder
  enable-puts-displaced-entry-first
                        Debian's entry put first again (as a later grub-install does):
                        `thinvisor-boot status` says the monitor is not enabled, and enable puts
                        thinvisor's entry first once more
  chain-ovmf-loader-monitor-grub-linux
                        second boot: the firmware starts the `thinvisor` entry first, the
                        loader starts the monitor and chains to GRUB EFI, which boots Linux;
                        uefi-checks.sh and monitor-checks.sh pass under the monitor
  purge-restores-boot-order
                        in that boot an entry is added and the others are reordered (Debian's
                        to the end), then `dpkg --purge` (the prerm's thinvisor-boot disable):
                        the entry and \\EFI\\thinvisor are gone and BootOrder is the one saved
                        before the install followed by the added entry (deleted again after)
  purge-boots-bare      third boot: the firmware starts Debian's entry, Linux runs without the
                        monitor (thinvisor-ctl: not present; no loader line on COM1, no monitor
                        log on COM2, which carries only the firmware's second console), BootOrder
                        is still the old one and the package is gone
Prints PASS/FAIL per check; logs in build/test-results/install-uefi/.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from _install import BUILD, CHECKS, GUEST, ROOT, package, read, report, results  # noqa: E402
sys.path.insert(0, os.path.join(ROOT, "tests", "install"))
import uefi_image  # noqa: E402

OUT = os.path.join(BUILD, "test-results", "install-uefi")
KERNEL_CACHE = os.path.join(ROOT, "third_party", "cache")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
BOOT_TIMEOUT = 420
LOADER = r"\EFI\thinvisor\thinvisor.efi"
GRUB = r"\EFI\debian\grubx64.efi"


def guest_script(phase, parts):
    path = os.path.join(OUT, "script-%s.sh" % phase)
    with open(path, "w") as f:
        f.write("TV_PHASE=%s\n" % phase)
        for name in ["install-uefi.sh"] + parts:
            f.write(read(os.path.join(CHECKS, name)) + "\n")
    return path


def boot(disk, vars_fd, phase, parts=(), timeout=BOOT_TIMEOUT):
    """Boots the disk (written in place: the next boot sees what this one did) with OVMF and
    the run's variable store. COM1 = firmware, GRUB and Linux console; COM2 = the monitor's log.
    The guest script powers the machine off. Returns (qemu rc, com1, com2, seconds)."""
    d = os.path.join(OUT, phase)
    os.makedirs(d, exist_ok=True)
    com1, com2 = os.path.join(d, "console.log"), os.path.join(d, "monitor.log")
    cmd = ["timeout", "-k", "5", str(timeout), "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35",
           "-cpu", "max", "-m", "512M", "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
           "-vga", "std",
           "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE,
           "-drive", "if=pflash,format=raw,file=" + vars_fd,
           "-drive", "id=disk,file=%s,format=raw,if=none" % disk, "-device", "ide-hd,drive=disk,bus=ide.0",
           "-fw_cfg", "name=opt/thinvisor/script,file=" + guest_script(phase, list(parts)),
           "-serial", "file:" + com1, "-serial", "file:" + com2]
    with open(os.path.join(d, "qemu.log"), "w") as log:
        log.write(" ".join(cmd) + "\n")
        log.flush()
        t0 = time.monotonic()
        rc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True).returncode
    return rc, read(com1), read(com2), time.monotonic() - t0


def tv_line(con, key):
    """The value of the guest's 'KEY: value' line (None when it is missing)."""
    m = re.search(r"^%s:[ \t]*([^\r\n]*)" % re.escape(key), con, re.M)
    return m.group(1).strip() if m else None


def entries(con):
    """{label: (number, path, active)} from the guest's TV-EFI lines of efibootmgr -v (the
    firmware skips an entry without the '*'), last state wins."""
    out = {}
    for num, star, label, rest in re.findall(r"^TV-EFI Boot([0-9A-F]{4})(\*?) ([^\t\r\n]*)\t?([^\r\n]*)", con,
                                             re.M):
        out[label.strip()] = (num, rest, star == "*")
    return out


def started(con):
    """The boot entries OVMF started, in order (BdsDxe's 'starting Boot#### "label"')."""
    return re.findall(r'BdsDxe: starting Boot([0-9A-F]{4}) "([^"]*)"', con)


def fails(con):
    return re.findall(r"TV-CHECK FAIL: [^\r\n]*", con)


def main():
    need = [(os.path.join(GUEST, "vmlinuz"), "make guest"), (os.path.join(GUEST, "initrd.img"), "make guest"),
            (os.path.join(GUEST, "modules"), "make guest"), (OVMF_CODE, "package ovmf"),
            (OVMF_VARS, "package ovmf"), ("/usr/lib/grub/x86_64-efi/linux.mod", "package grub-efi-amd64-bin"),
            ("/usr/bin/efibootmgr", "package efibootmgr")]
    missing = ["%s (%s)" % (p, how) for p, how in need if not os.path.exists(p)]
    deb = package()
    kdebs = sorted(glob.glob(os.path.join(KERNEL_CACHE, "linux-image-*-amd64_*.deb")))
    if not deb:
        missing.append("build/deb/thinvisor_*_amd64.deb (make deb)")
    if not kdebs:
        missing.append("the guest's kernel package in third_party/cache (make guest)")
    if missing:
        print("FAIL install-uefi: missing %s" % ", ".join(missing))
        return 1
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    stage, disk, vars_fd = os.path.join(OUT, "root"), os.path.join(OUT, "disk.img"), os.path.join(OUT, "OVMF_VARS.fd")
    cmdline = read(os.path.join(GUEST, "cmdline")).strip()
    try:
        uefi_image.make_root(stage, os.path.join(GUEST, "vmlinuz"), os.path.join(GUEST, "initrd.img"), cmdline,
                             deb)
        uefi_image.ext4_cpio(OUT, kdebs[-1], os.path.join(GUEST, "modules"),
                             os.path.join(stage, "boot", "initrd.img-" + uefi_image.KERNEL_VERSION),
                             os.path.join(GUEST, "initrd.img"))
        uefi_image.write_disk(disk, stage, OUT)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or ""
        print("FAIL install-uefi: could not build the installed system: %s %s" % (e, detail[-300:]))
        return 1
    for tree in (stage, "kernel-x", "ext4-tree", "esp"):  # the disk holds them now
        shutil.rmtree(os.path.join(OUT, tree), ignore_errors=True)
    shutil.copyfile(OVMF_VARS, vars_fd)

    # 1. The installation, in the guest's first boot.
    rc, con, mon, secs = boot(disk, vars_fd, "install")
    before, installed = tv_line(con, "TV-BOOTORDER before"), tv_line(con, "TV-BOOTORDER installed")
    ents = entries(con)
    tv, deb = ents.get("thinvisor"), ents.get("debian")
    conf = tv_line(con, "TV-LOADER-CONF") or ""
    ok = ("TV-STEP register-debian status 0" in con
          and "TV-STEP dpkg-install status 0" in con and not fails(con) and "TV-CHECK ok: system-unmounted" in con
          and tv is not None and LOADER.lower() in tv[1].lower() and tv[2] and deb is not None
          and before and installed == ",".join([tv[0]] + before.split(","))
          and tv_line(con, "TV-SAVED-ORDER") == before
          and ("next = " + GRUB) in conf and "thinvisor" in (tv_line(con, "TV-ESP installed") or "")
          and "thinvisor-boot: UEFI: boot entry %s" % (tv or ("",))[0] in con)
    report("package-install", ok, "qemu rc %s after %.0f s; BootOrder before %r, after %r; entries %s; "
           "loader.conf %r; saved %r; fails %s; steps %s" % (
               rc, secs, before, installed, ents, conf, tv_line(con, "TV-SAVED-ORDER"), fails(con)[:3],
               re.findall(r"TV-STEP [^\r\n]*", con)))
    again = tv_line(con, "TV-LOADER-CONF re-enabled") or ""
    ok2 = ("TV-STEP re-enable status 0" in con and tv_line(con, "TV-BOOTORDER re-enabled") == installed
           and tv_line(con, "TV-ENTRIES re-enabled") == "1" and ("next = " + GRUB) in again)
    report("re-enable-keeps-chain", ok2, "enable run again: steps %s; BootOrder %r (after the install %r); "
           "%s thinvisor entries; loader.conf %r" % (re.findall(r"TV-STEP [^\r\n]*", con),
                                                    tv_line(con, "TV-BOOTORDER re-enabled"), installed,
                                                    tv_line(con, "TV-ENTRIES re-enabled"), again))
    displaced, restored = tv_line(con, "TV-STATUS displaced") or "", tv_line(con, "TV-STATUS restored") or ""
    tvn = (tv or ("?",))[0]
    ok3 = (displaced.startswith("enabled: no: boot entry %s is not first" % tvn)
           and "TV-STEP enable-displaced status 0" in con
           and restored.startswith("enabled: yes (boot entry %s first" % tvn)
           and tv_line(con, "TV-BOOTORDER restored") == installed)
    report("enable-puts-displaced-entry-first", ok3, "with Debian's entry put first: status %r; enable: %s; "
           "then status %r, BootOrder %r (after the install %r)" % (
               displaced, re.findall(r"TV-STEP enable-displaced[^\r\n]*", con), restored,
               tv_line(con, "TV-BOOTORDER restored"), installed))
    if not ok:
        return 1

    # 2. Under the monitor, started by the firmware through the entry; then the purge.
    rc, con, mon, secs = boot(disk, vars_fd, "installed", ["uefi-checks.sh", "monitor-checks.sh"], timeout=600)
    first = started(con)[:1]
    chain = [con.find('BdsDxe: starting Boot%s "thinvisor"' % tv[0]), con.find("thinvisor: monitor running at"),
             con.find("thinvisor: starting " + GRUB), con.find("Linux version")]
    oks = re.findall(r"TV-CHECK ok: ", con)
    ok = (first == [(tv[0], "thinvisor")] and all(i >= 0 for i in chain) and chain == sorted(chain)
          and "guest: resuming the UEFI loader" in mon and "thinvisor-ctl info exit status: 0" in con
          and not fails(con) and len(oks) >= 6 and "refusing" not in mon)
    report("chain-ovmf-loader-monitor-grub-linux", ok, "qemu rc %s after %.0f s; firmware started %s; chain %s; "
           "%d ok, fails %s; monitor log tail %r" % (rc, secs, started(con), chain, len(oks), fails(con)[:3],
                                                   mon[-200:]))
    purged = tv_line(con, "TV-BOOTORDER purged")
    left = tv_line(con, "TV-LEFT")
    reordered = tv_line(con, "TV-BOOTORDER reordered") or ""
    other = tv_line(con, "TV-OTHER-ENTRY") or "?"
    ok = ("TV-STEP dpkg-purge status 0" in con and purged == before + "," + other
          and tv_line(con, "TV-BOOTORDER without-other") == before and "thinvisor" not in entries(con)
          and reordered.startswith(tv[0] + ",") and reordered != installed + "," + other
          and "thinvisor-boot: UEFI: boot entry and /boot/efi/EFI/thinvisor removed" in con
          and "thinvisor" not in (tv_line(con, "TV-ESP purged") or "thinvisor") and left == "")
    report("purge-restores-boot-order", ok, "BootOrder before the install %r, entry %s added and reordered %r, "
           "after the purge %r (%r without %s); entries %s; ESP %r; left %r; steps %s" % (
               before, other, reordered, purged, tv_line(con, "TV-BOOTORDER without-other"), other, entries(con),
                                                    tv_line(con, "TV-ESP purged"), left,
                                          re.findall(r"TV-STEP [^\r\n]*", con)))

    # 3. The machine as before the installation.
    rc, con, mon, secs = boot(disk, vars_fd, "purged", ["bare-checks.sh"])
    after = tv_line(con, "TV-BOOTORDER after-purge")
    ok = (started(con)[:1] == [(deb[0], "debian")] and after == before and "thinvisor" not in entries(con)
          and "thinvisor" not in (tv_line(con, "TV-ESP after-purge") or "thinvisor")
          and re.match(r"dpkg-query: no packages found|unknown ok not-installed", tv_line(con, "TV-DPKG-STATUS") or "")
          and "TV-CHECK ok: bare" in con and "thinvisor-ctl info exit status: 2" in con
          and "thinvisor: UEFI loader" not in con and "thinvisor: monitor running" not in con
          and "thinvisor" not in mon and not fails(con))
    report("purge-boots-bare", ok, "qemu rc %s after %.0f s; firmware started %s; BootOrder %r (before the "
           "install %r); entries %s; ESP %r; dpkg %r; fails %s; COM2 (the firmware's second console) %r" % (
               rc, secs, started(con), after, before, entries(con), tv_line(con, "TV-ESP after-purge"),
               tv_line(con, "TV-DPKG-STATUS"), fails(con)[:3], mon[-200:]))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
