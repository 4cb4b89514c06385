#!/usr/bin/env python3
"""The attack suite: a hostile guest (tvattack, tests/attack/) attacks the real monitor and the
suite judges every attack. Issue 12, "The attack suite"; docs/security.md lists the classes.

Three QEMU boots (q35, AMD-V under TCG), both with the monitor's random canary in its code, data,
heap, an allocator page and its device buffers (core/canary.cpp; the value is on COM2 only):

- "safe": the AHCI boot disk, a scratch disk on AHCI port 1, a scratch disk on a PIIX IDE
  controller, the e1000 on user-mode networking with a frame dump (and a second e1000, which
  the monitor does not mediate, with its own), a qemu-xhci with a usb-kbd, a usb-ehci with a 4 MiB
  stick (no guest driver holds either), and a thinvisor.conf with [network], the three disks
  (encrypt policy with plaintext ranges, so both mediators bounce) and the stick enrolled under
  `[usb] storage = encrypt` (its image is scanned for the guest's plaintext and the canary
  afterwards, _attack_evidence.check_ehci_stick). Every attack the monitor must
  survive runs here, one after the other; cpu-largepage-alias loads a kernel module built against
  the guest kernel's headers (tests/attack/kmod/), handed in through fw_cfg.
- "fatal": first the IOMMU attacks: this boot has an AMD-Vi unit (QEMU's amd-iommu, which the
  monitor drives) and an e1000 no mediator owns (no thinvisor.conf, so no [network]) on its own
  wire dump; the guest tries to reach the unit's registers, sends from the monitor's heap and
  receives into its page canary through that e1000 (PHY loopback), with control frames from and
  into guest memory that must get through. Then the IDE taskfile race: this boot has two CPUs
  and a thinvisor.conf keying the IDE scratch disk (LBA 8192 on encrypted), and the suite scans
  that disk for the guest's clear marker in the encrypted range. Then xhci-hidden-port: this boot's
  thinvisor.conf says `[usb] storage = deny`, and a usb-storage stick (its sector 0 a marker) sits
  on a qemu-xhci of its own. Then the attacks that stop the
  machine while their hole is open (APIC base, reserved EFER bits). The boot runs to power-off,
  so the monitor's canary check judges the receive attack.
- "init": INIT to the boot CPU through an IOAPIC entry and through the AHCI controller's MSI;
  an INIT that gets through ends the guest, so the suite judges the IOAPIC one from the monitor's
  log too (the INIT refused or taken, no panic, no unmonitored reboot). Last, with the same
  amd-iommu and unmediated e1000 as the fatal boot, an INIT message written by DMA into the MSI
  window (the monitor's AMD-Vi interrupt remapping drops it; with --iommu, VT-d, a known open
  hole: QEMU 7.2 ignores GCMD.CFI).

The guest prints `TV-ATTACK: ready`; the suite reads the canary places from the monitor's log
and types them in; tvattack prints `ATTACK name` and then `DEFENDED name: how`, `BREACH name:
what` or `SKIPPED name: why`. The suite adds what only the host sees (_attack_evidence.py):
canary bytes on the scratch disks, on the wire or in the console's loot lines, the monitor's
power-off canary check (each attack that writes towards the monitor aims at a 512-byte slice of
its own), and whether the monitor survived. One line per attack: `PASS attack/NAME: DEFENDED ...` or `FAIL attack/NAME:
BREACH ...` (skips print `SKIP attack/NAME: why`), plus the gate lines attack/monitor-survived
and attack/canary-intact.

    tests/suites/attacks.py [--only SUBSTRING[,SUBSTRING...]] [--keep] [--iommu]
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from _qemu_console import QemuConsole
from _attack_evidence import (IOMMU_CONTROL, IOMMU_ATTACKS, RACE_MARK, RACE_PLAIN, STICK_MARK, SLICES,  # noqa: F401
                              IDE_LBAS, AHCI_LBAS, REFUSALS, WIRE, needles, find_all, pcap_frames, sections,
                              check_evidence, check_refusals, check_stick, judge_gates, check_iommu_evidence,
                              check_race_evidence)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
GUEST = os.path.join(ROOT, "build", "guest")
DISK = os.path.join(GUEST, "disk-attack.img")
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
APPEND = "console=tty0 console=ttyS0,115200 panic=-1 iomem=relaxed"  # /dev/mem may map device ranges
PASSPHRASE = "attack-suite"
SCRATCH_MB = 16
CONF = """[network]
dhcp = no
mac = 52:54:00:7a:7a:01
address = 10.0.2.200
netmask = 255.255.255.0
gateway = 10.0.2.2

[disk.boot]
serial = TVBOOT0001
keyslots = attack.keys
plaintext = 0-131071

[disk.ide]
serial = TVIDE00001
keyslots = attack.keys
plaintext = 0-8191

[disk.ahci]
serial = TVAHCI0001
keyslots = attack.keys
plaintext = 0-8191

[disk.stick]
bus = usb
serial = TVEHCISTK1
keyslots = attack.keys

[usb]
storage = encrypt
"""

# --iommu: every boot gets a VT-d unit (before the PCI devices, as QEMU wants), which the monitor
# drives: the unmediated e1000 then keeps bus mastering and the IOMMU, not the bus-master policy,
# stops dma-unmediated-nic. Not part of make test (the scenario iommu-vtd-q35 is); run by hand.
# Without it only the fatal boot has an IOMMU (AMD-Vi), and the safe boot tests the bus-master
# policy that applies without one.
IOMMU = []
FATAL_IOMMU = ["-device", "amd-iommu"]
# The fatal boot's thinvisor.conf: the IDE scratch disk keyed from LBA 8192 on (the taskfile
# race writes a clear marker to 704-767 while CPU 1 points the registers at 9000), no [network]
# (the e1000 stays unmediated for the IOMMU attacks).
FATAL_CONF = """[disk.boot]
serial = TVBOOT0001
keyslots = attack.keys
plaintext = 0-131071

[disk.ide]
serial = TVIDE00001
keyslots = attack.keys
plaintext = 0-8191

[usb]
storage = deny
"""

# Attacks on holes that are still open (issue 12), with where they stand. They run every time and
# print SKIP with the breach; everything else is gated at zero breaches.
KNOWN_OPEN = {}
# --iommu (VT-d): QEMU 7.2's intel-iommu passes a compatibility-format interrupt message even with
# remapping on and CFI off, so no VT-d setting stops the INIT written by DMA (docs/iommu.md,
# "VT-d interrupt remapping"). Under AMD-Vi (make test) the monitor's remapping drops it.
VTD_KNOWN_OPEN = {
    "iommu-msi-init-by-dma": "QEMU 7.2's intel-iommu delivers compatibility-format messages whatever GCMD.CFI says: "
                             "an unmediated bus master's DMA into the MSI window is an INIT (docs/iommu.md, "
                             "'VT-d interrupt remapping')",
}

VERDICT = re.compile(r"^(DEFENDED|BREACH|SKIPPED) (\S+): (.*)$")


def attack_names():
    out = subprocess.run([os.path.join(GUEST, "bin", "tvattack"), "--list"], capture_output=True, text=True,
                         check=True).stdout
    return [tuple(l.split()) for l in out.splitlines() if l.strip()]


def build_image():
    """The demo guest with tvattack, as disk-attack.img with iomem=relaxed (cheap when current)."""
    subprocess.run(["bash", os.path.join(ROOT, "tools", "guest", "build-guest.sh"), "--disk-name",
                    "disk-attack.img", "--disk-append", APPEND], check=True, stdout=subprocess.DEVNULL)


def build_module():
    """tvlpa.ko for cpu-largepage-alias (tests/attack/kmod/build.sh: the guest kernel's Debian
    headers, fetched into build/lpa/); None when it cannot be built (the attack then skips)."""
    r = subprocess.run(["bash", os.path.join(ROOT, "tests", "attack", "kmod", "build.sh")], capture_output=True,
                       text=True)
    path = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ""
    if not os.path.exists(path):
        print("attacks: no tvlpa.ko (cpu-largepage-alias will skip): %s" % r.stderr.strip()[-300:], flush=True)
        return None
    return path


def guest_script(work, group, names):
    path = os.path.join(work, "attack-%s.sh" % group)
    only = " --only %s" % ",".join(names) if names else ""
    with open(path, "w") as f:
        # printk level 1: kernel lines would otherwise cut into tvattack's lines on the console
        f.write("echo 1 > /proc/sys/kernel/printk\necho 'TV-ATTACK: ready'\nread -r T\n"
                "tvattack --targets \"$T\" --group %s%s\necho 'TV-ATTACK: finished'\n" % (group, only))
    return path


def scratch(work, name):
    path = os.path.join(work, name)
    with open(path, "wb") as f:
        f.truncate(SCRATCH_MB << 20)
    return path


class Run:
    """One boot: QEMU with COM1 on a socket (prompts typed, targets typed), COM2 in a file."""

    def __init__(self, work, group, names, with_conf):
        self.work, self.group = work, group
        ide = scratch(work, "ide-%s.img" % group)
        args = ["-accel", "tcg", "-machine", "q35", "-cpu", "max", "-m", "512M", "-smp", "2" if group == "fatal" else "1",
                "-display", "none",
                "-monitor", "none", "-no-reboot", "-nodefaults", "-vga", "std"] + (
                IOMMU or (FATAL_IOMMU if group in ("fatal", "init") else [])) + [
                "-drive", "file=%s,format=raw,if=none,id=boot,snapshot=on" % DISK,
                "-device", "ide-hd,drive=boot,bus=ide.0,serial=TVBOOT0001,bootindex=1",
                "-device", "piix3-ide,id=pide",
                "-drive", "file=%s,format=raw,if=none,id=is" % ide,
                "-device", "ide-hd,drive=is,bus=pide.0,unit=0,serial=TVIDE00001",
                "-kernel", MONITOR, "-fw_cfg", "name=opt/thinvisor/script,file=%s" % guest_script(work, group, names)]
        self.feeder = None
        if group in ("fatal", "init"):  # an e1000 no mediator owns, for the IOMMU attacks
            args += ["-netdev", "user,id=n2", "-device", "e1000,netdev=n2,mac=52:54:00:12:34:58",
                     "-object", "filter-dump,id=fd2,netdev=n2,file=%s" % os.path.join(work, "wire-%s.pcap" % group)]
        if group == "fatal":  # the keyed IDE disk for the taskfile race; the denied stick on its own xHCI
            args += ["-initrd", "%s,%s" % (os.path.join(work, "fatal-conf", "thinvisor.conf"),
                                           os.path.join(work, "attack.keys")),
                     "-drive", "file=%s,format=raw,if=none,id=ds" % make_stick(os.path.join(work, "stick-deny.img"),
                                                                               STICK_MARK),
                     "-device", "qemu-xhci,id=xhci2", "-device", "usb-storage,bus=xhci2.0,drive=ds,serial=TVDENY0001"]
        if with_conf:
            self.wire_sink, self.wire_in = free_udp_port(), free_udp_port()
            ahci = scratch(work, "ahci-%s.img" % group)
            args += ["-drive", "file=%s,format=raw,if=none,id=as" % ahci,
                     "-device", "ide-hd,drive=as,bus=ide.1,serial=TVAHCI0001",
                     # the mediated e1000's wire is a UDP socket: the suite sends it broadcast frames
                     # for the receive attacks and never answers anything
                     "-netdev", "socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (self.wire_sink, self.wire_in),
                     "-device", "e1000,netdev=n0,mac=52:54:00:12:34:56",
                     "-object", "filter-dump,id=fd0,netdev=n0,file=%s" % os.path.join(work, "wire.pcap"),
                     # a second e1000: the monitor mediates only the first (issue 12, item 3)
                     "-netdev", "user,id=n1", "-device", "e1000,netdev=n1,mac=52:54:00:12:34:57",
                     "-object", "filter-dump,id=fd1,netdev=n1,file=%s" % os.path.join(work, "wire2.pcap"),
                     # the xHCI the mediator owns, with a keyboard for the xhci-* attacks to address
                     "-device", "qemu-xhci,id=xhci", "-device", "usb-kbd,bus=xhci.0",
                     # the EHCI the mediator owns, with a stick for the ehci-* attacks (no driver binds it)
                     "-drive", "file=%s,format=raw,if=none,id=es" % make_stick(os.path.join(work, "stick-ehci.img"),
                                                                               size=4 << 20),
                     "-device", "usb-ehci,id=ehci", "-device", "usb-storage,bus=ehci.0,drive=es,serial=TVEHCISTK1",
                     "-initrd", "%s,%s" % (os.path.join(work, "thinvisor.conf"), os.path.join(work, "attack.keys"))]
            ko = build_module() if "cpu-largepage-alias" in names else None
            if ko:  # the large-page module for cpu-largepage-alias
                args += ["-fw_cfg", "name=opt/thinvisor/tvlpa,file=%s" % ko]
        os.makedirs(os.path.join(work, group), exist_ok=True)
        self.q = QemuConsole(os.path.join(work, group), args, 900)
        if with_conf:
            self.stop_feed = threading.Event()
            self.feeder = threading.Thread(target=feed_frames, args=(self.wire_in, self.stop_feed), daemon=True)
            self.feeder.start()
        self.disks = {"ide": ide}
        if with_conf:
            self.disks["ahci"] = os.path.join(work, "ahci-%s.img" % group)
            self.disks["ehci-stick"] = os.path.join(work, "stick-ehci.img")

    def monlog(self):
        try:
            with open(self.q.monlog, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def start(self):
        """Answers passphrase prompts until the guest is ready; types the targets. Returns the
        canary unit's hex, or raises with the reason the run could not start."""
        answered = 0
        deadline = time.monotonic() + 420
        while time.monotonic() < deadline:
            self.q.read_until(b"\0never", 1)
            if self.q.console.count(b"passphrase for disk") > answered:
                answered += 1
                self.q.type(PASSPHRASE)
            if b"TV-ATTACK: ready" in self.q.console:
                break
            if self.q.proc.poll() is not None:
                raise RuntimeError("QEMU ended before the guest was ready (console tail %r)" % self.q.console[-300:])
        else:
            raise RuntimeError("the guest never got ready (console tail %r)" % self.q.console[-300:])
        log = self.monlog()
        kind, unit_hex, targets, self.places = targets_from_log(log)
        self.mon_at_start = len(log)
        self.q.type(targets)
        return kind, unit_hex

    def finish(self, seconds, stop=b"thinvisor-guest: power-off"):
        """Reads the console until `stop`, a halted monitor, QEMU's exit or `seconds`; then ends
        the run and returns (console, monitor log)."""
        end = time.monotonic() + seconds
        while time.monotonic() < end and stop not in self.q.console and self.q.proc.poll() is None:
            self.q.read_until(b"\0never", 1)
            if "thinvisor: halted" in self.monlog() or "PANIC" in self.monlog():
                self.q.read_until(b"\0never", 2)
                break
        if stop == b"thinvisor-guest: power-off":
            self.q.wait_exit(20)
        self.q.kill()
        if self.feeder:
            self.stop_feed.set()
        # A kernel line printed in the middle of one of tvattack's lines splits it: cut it out.
        console = re.sub(r"\[\s*\d+\.\d+\] [^\n]*\n", "", self.q.console.decode("utf-8", "replace"))
        return console.replace("\r", ""), self.monlog()


def targets_from_log(log):
    """From the monitor's boot log: (canary kind, canary unit hex, the --targets text for
    tvattack, {place: address}). Raises when the log has no canary or region yet."""
    unit = re.search(r"canary: value (\S+) ([0-9a-f]{64})", log)
    region = re.search(r"monitor region (0x[0-9a-f]+)-(0x[0-9a-f]+)", log)
    if not unit or not region:
        raise RuntimeError("no canary value or region in the monitor log")
    places = dict(re.findall(r"canary: (code|data|heap|page|ide bounce|ahci bounce|e1000 rx tails)\b[^\n]* at "
                             r"(0x[0-9a-f]+)", log))
    base, end = int(region.group(1), 16), int(region.group(2), 16)
    keys = {"code": "code", "data": "data", "heap": "heap", "page": "page", "ide bounce": "ide_bounce",
            "ahci bounce": "ahci_bounce", "e1000 rx tails": "rx_tails"}
    targets = "region=%#x size=%#x " % (base, end - base) + " ".join(
        "%s=%s" % (keys[k], v) for k, v in places.items())
    return unit.group(1), unit.group(2), targets, {k: int(v, 16) for k, v in places.items()}


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def feed_frames(port, stop):
    """Broadcast frames (ethertype 88b5, 100 bytes of 0xab) into the mediated e1000 every 20 ms,
    so the receive attacks have something to receive."""
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"\xab" * 100
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not stop.wait(0.02):
            try:
                s.sendto(frame, ("127.0.0.1", port))
            except OSError:
                pass


class Judge:
    def __init__(self):
        self.verdicts = {}   # name -> (kind, text)
        self.breaches = {}   # name -> [host evidence]
        self.notes = {}      # name -> [host observations that are not breaches]

    def host(self, name, why):
        if why not in self.breaches.setdefault(name, []):
            self.breaches[name].append(why)

    def guest(self, console, names, run_name, mon):
        secs = sections(console)
        for line in console.splitlines():
            m = VERDICT.match(line.strip())
            if m and m.group(2) in names:
                self.verdicts[m.group(2)] = (m.group(1), m.group(3))
        started = [n for n in names if n in secs]
        for i, n in enumerate(started):
            if n in self.verdicts:
                continue
            why = "the machine stopped during this attack"
            panic = re.search(r"(?i)^.*panic.*$", mon, re.M)
            if panic:
                why += " (monitor: %s)" % panic.group(0).strip()[:160]
            self.host(n, why)
        for n in names:
            if n not in secs and n not in self.verdicts:
                self.host(n, "not run: the %s boot ended before it (%s)" % (run_name, started[-1] if started else "none"))
        return secs

    def report(self, names, prefix="attack"):
        """Prints one line per attack as `PASS|FAIL|SKIP PREFIX/NAME: ...`; returns the failures."""
        failed = 0
        for n in names:
            kind, text = self.verdicts.get(n, ("", ""))
            host = self.breaches.get(n, [])
            if n in KNOWN_OPEN:
                # A hole issue 12 still lists as open: reported on every run, never as passed. Once
                # it is defended, the entry must go (or this line fails), so the list cannot go stale.
                if kind == "BREACH" or host:
                    print("SKIP %s/%s: KNOWN OPEN (%s): BREACH %s" % (prefix, n, KNOWN_OPEN[n], "; ".join(
                        ([text] if kind == "BREACH" else []) + host)), flush=True)
                else:
                    failed += 1
                    print("FAIL %s/%s: listed as a known open hole but DEFENDED now: take it out of KNOWN_OPEN"
                          % (prefix, n), flush=True)
                continue
            if kind == "BREACH" or host:
                failed += 1
                print("FAIL %s/%s: BREACH %s" % (prefix, n, "; ".join(([text] if kind == "BREACH" else []) + host)),
                      flush=True)
            elif kind == "SKIPPED":
                print("SKIP %s/%s: %s" % (prefix, n, text), flush=True)
            else:
                print("PASS %s/%s: DEFENDED %s" % (prefix, n, "; ".join([text] + self.notes.get(n, []))), flush=True)
        return failed


def make_stick(path, mark=None, size=1 << 20):
    """A raw stick of `size` bytes; `mark` repeated over its first 64 KiB."""
    with open(path, "wb") as f:
        f.truncate(size)
        if mark:
            f.write((mark * (65536 // len(mark) + 1))[:65536])
    return path


def run_safe(work, names, judge):
    run = Run(work, "safe", names, True)
    try:
        kind, unit_hex = run.start()
        if kind != "rdrand":
            judge.host("canary-intact", "the canary is not random (%s)" % kind)
        console, mon = run.finish(600)
    except Exception:
        run.q.kill()
        raise
    judge.guest(console, names, "safe", mon)
    check_evidence(judge, run, unit_hex, console, mon, names)
    check_refusals(judge, mon, names)
    judge_gates(judge, mon, len(names))


def run_fatal(work, names, judge, group):
    """The attacks that stop the machine while their hole is open; `init` ends the guest anyway.
    The fatal boot runs to power-off (its IOMMU attacks need the monitor's canary check)."""
    run = Run(work, group, names, False)
    try:
        _, unit_hex = run.start()
        if group == "fatal":
            console, mon = run.finish(180)
        else:
            console, mon = run.finish(60, stop=b"TV-ATTACK: finished")
    except Exception:
        run.q.kill()
        raise
    secs = judge.guest(console, names, group, mon)
    if group == "fatal":
        check_iommu_evidence(judge, run, unit_hex, mon, names)
        check_race_evidence(judge, run, names)
        check_refusals(judge, mon, names)
        check_stick(judge, console, names)
    if "init-ioapic-bsp" in names and "init-ioapic-bsp" in secs and "init-ioapic-bsp" not in judge.verdicts:
        judge.breaches.pop("init-ioapic-bsp", None)
        # Taken by the monitor, the INIT leaves the boot CPU waiting or restarts the guest's
        # firmware under the monitor; either way the monitor is alive and says so in its log.
        # Escaped, the CPU leaves virtualization and the log stops.
        later = mon[run.mon_at_start:]
        caught = re.search(r"(?im)^.*(\binit\b|sipi|reset|guest: booting).*$", later)
        if caught and "PANIC" not in later:
            judge.verdicts["init-ioapic-bsp"] = ("DEFENDED", "the monitor took the INIT: %s" % caught.group(0).strip())
        else:
            why = "INIT reached the boot CPU: the guest stopped and the monitor logged nothing of it"
            if console.count("thinvisor-guest: up") > 1:
                why += "; the guest booted again without the monitor"
            judge.host("init-ioapic-bsp", why)


def main():
    ap = argparse.ArgumentParser(description="the hostile-guest attack suite")
    ap.add_argument("--only", help="substrings of attack/NAME, comma-separated (one attack: --only attack/cpu-exec)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (printed)")
    ap.add_argument("--iommu", action="store_true", help="give every boot an intel-iommu (VT-d) the monitor drives")
    args = ap.parse_args()
    if args.iommu:
        IOMMU[:] = ["-device", "intel-iommu"]
        KNOWN_OPEN.update(VTD_KNOWN_OPEN)
    build_image()
    listed = attack_names()
    subs = args.only.split(",") if args.only else []
    pick = lambda n: not subs or any(x in "attack/" + n or x in ("attacks", "suite-attacks") for x in subs)
    safe = [n for g, n in listed if g == "safe" and pick(n)]
    fatal = [n for g, n in listed if g == "fatal" and pick(n)]
    init = [n for g, n in listed if g == "init" and pick(n)]
    gates = ["monitor-survived", "canary-intact"] if safe else []
    if not safe and not fatal and not init:
        return 0
    work = tempfile.mkdtemp(prefix="attacks-", dir=os.path.join(ROOT, "build"))
    judge = Judge()
    try:
        if safe or fatal:
            with open(os.path.join(work, "thinvisor.conf"), "w") as f:
                f.write(CONF)
            os.makedirs(os.path.join(work, "fatal-conf"))  # the monitor takes the module by its name
            with open(os.path.join(work, "fatal-conf", "thinvisor.conf"), "w") as f:
                f.write(FATAL_CONF)
            pf = os.path.join(work, "pass")
            with open(pf, "w") as f:
                f.write(PASSPHRASE)
            subprocess.run([TOOL, "format", os.path.join(work, "attack.keys"), "--passphrase-file", pf,
                            "--iterations", "2000", "--quiet"], check=True, stdout=subprocess.DEVNULL)
        for group, names in (("safe", safe), ("fatal", fatal), ("init", init)):
            if not names:
                continue
            start = time.monotonic()
            try:
                if group == "safe":
                    run_safe(work, names, judge)
                else:
                    run_fatal(work, names, judge, group)
            except Exception as e:  # a boot that could not run fails its attacks, not the suite
                for n in names + (gates if group == "safe" else []):
                    judge.host(n, "%s boot: %s: %s" % (group, type(e).__name__, e))
            print("attacks: %s boot %.0f s (logs %s/%s)" % (group, time.monotonic() - start, work, group), flush=True)
        failed = judge.report(safe + gates + fatal + init)
    finally:
        if args.keep:
            print("attacks: work directory kept: %s" % work, flush=True)
        elif judge.breaches:  # the logs and frame dumps explain the failures; the disks are large
            for f in os.listdir(work):
                if f.endswith(".img"):
                    os.unlink(os.path.join(work, f))
            print("attacks: logs kept: %s" % work, flush=True)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
