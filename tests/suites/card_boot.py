#!/usr/bin/env python3
"""The boot-time smart-card unlock end to end: the encrypted demo disk enrolled with
thinvisor-enroll for a certificate of an NSS database (a CA and three certificates, made with
certutil), booted under thinvisor with QEMU's qemu-xhci, usb-ccid and ccid-card-emulated on
that database; the monitor finds the reader, asks for the PIN on COM1, has the card decrypt and
unwraps the disk key itself.

Four boots: a wrong PIN then the right one, under [card] reader = hide (the guest boots from
the disk, lists its USB devices and dumps the monitor's guest-readable log ring: the reader and
the hub in front of it are not among them, a tablet on another root port is; neither the ring
nor the monitor log holds the PIN or a key); no card in the reader behind QEMU's usb-hub (the
monitor waits, then asks for the passphrase; without the setting the guest lists the hub and
the reader); a card from another database (refused, no PIN asked, the image byte-identical); a
wrong PIN at every prompt (after [keys] passphrase_tries of them the monitor halts: no
passphrase prompt, no guest, the image byte-identical, no PIN in the log). The third has a
usb-ehci with a keyboard ahead of the xHCI, the fourth the reader on an EHCI's UHCI companion.
Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only, --list as usual."""
import argparse
import fnmatch
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _card_pki  # noqa: E402
from _qemu_console import QemuConsole, hmp_socket  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
DISK_IMAGE = os.path.join(ROOT, "build", "guest", "disk.img")
DISK_TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
ENROLL = os.path.join(ROOT, "build", "tools", "thinvisor-enroll")
PASSPHRASE = "correct horse battery staple"
PIN = "T7q9pin"  # the NSS database's password; CAC PINs are at most 8 bytes
GUEST_UP = b"thinvisor-guest: up"
# From the unlock to the guest's shell: about a minute on an idle machine, over five minutes
# seen with the machine's two cores shared by a dozen emulators (SYSLINUX reads the kernel
# through the IDE mediator).
GUEST_WAIT = 420
CONF = "[disk.system]\nserial = QM00001\nkeyslots = system.keys\n[keys]\npassphrase_tries = 3\n"
CONF_HIDE = CONF + "[card]\nreader = hide\n"
TABLET = b"0627:0001"  # QEMU's usb-tablet: a device the guest must still see beside a kept port
# The guest lists its USB devices (after the unlock the controller must look as after power-on)
# and dumps the monitor's guest-readable log ring.
GUEST_SCRIPT = """modprobe xhci_pci
i=0; while [ $i -lt 30 ] && ! grep -qs 4433 /sys/bus/usb/devices/*/idProduct; do sleep 1; i=$((i+1)); done
for d in /sys/bus/usb/devices/*; do [ -f $d/idProduct ] && echo "TV-USB $(cat $d/idVendor):$(cat $d/idProduct)"; done
thinvisor-ctl log | sed 's/^/TV-LOG /'
poweroff -f
"""
# With the reader kept from the guest: wait for the tablet on the other root port instead,
# then long enough for the reader's port to have shown a device if it were going to.
GUEST_SCRIPT_HIDE = GUEST_SCRIPT.replace("grep -qs 4433 /sys/bus/usb/devices/*/idProduct; do sleep 1; i=$((i+1)); done",
                                         "grep -qs 0627 /sys/bus/usb/devices/*/idVendor; do sleep 1; i=$((i+1)); done; "
                                         "sleep 5")

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Setup:
    """The enrolled disk (passphrase in slot 0, the NSS card's user2 in slot 1) shared by all boots."""

    def __init__(self, top):
        self.top = top
        self.nss = _card_pki.NssCard(os.path.join(top, "nss"), pin=PIN)
        self.other = _card_pki.NssCard(os.path.join(top, "other"), pin=PIN, cn_prefix="stranger", serial_base=500)
        self.pass_file = os.path.join(top, "pass")
        with open(self.pass_file, "w") as f:
            f.write(PASSPHRASE)
        self.keys = os.path.join(top, "system.keys")
        subprocess.run([DISK_TOOL, "format", self.keys, "--passphrase-file", self.pass_file, "--iterations", "2000",
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([ENROLL, "add", self.keys, *self.nss.pkcs11_args(), "--label", "user2", "--card-key", "1",
                        "--passphrase-file", self.pass_file], check=True, stdout=subprocess.DEVNULL)
        self.image = os.path.join(top, "disk.img")
        shutil.copyfile(DISK_IMAGE, self.image)
        subprocess.run([DISK_TOOL, "encrypt", self.image, "--keyslots", self.keys, "--passphrase-file",
                        self.pass_file, "--quiet"], check=True, stdout=subprocess.DEVNULL)
        for name, text in (("thinvisor.conf", CONF), ("hide.conf", CONF_HIDE), ("guest.sh", GUEST_SCRIPT),
                           ("guest_hide.sh", GUEST_SCRIPT_HIDE)):
            with open(os.path.join(top, name), "w") as f:
                f.write(text)

    def boot(self, work, card_db=None, timeout=600, hub=False, ehci_first=False, companions=False, hide=False,
             keyboard=False):
        """QEMU pc with the xHCI controller and the CCID reader; card_db: the card's NSS
        database (None: an empty reader); hub: the reader on port 1 of a usb-hub (QEMU's is
        full speed, 8 ports) on root port 1, not on the root port itself; ehci_first: a usb-ehci
        with a high-speed usb-kbd ahead of the xHCI in PCI order (the monitor enumerates it, finds
        no reader there and moves on; QEMU 7.2 puts no full-speed device such as usb-ccid on an
        EHCI without companions, nor its full-speed usb-hub); companions: no xHCI, the reader on
        an ICH9 EHCI with its three UHCI companions (a PC's USB 2 ports), the EHCI ahead of them
        in PCI order: the monitor's EHCI driver hands the full-speed reader's port to the
        companion, and its UHCI driver finds it there; hide: [card] reader = hide, and a usb-tablet
        on root port 2 (a device the guest must still see); keyboard: QEMU's human monitor on a
        socket, for keys on the PS/2 keyboard and reads of the VGA text screen."""
        if hub:
            usb = ["-device", "qemu-xhci,id=xhci", "-device", "usb-hub,bus=xhci.0,port=1",
                   "-device", "usb-ccid,bus=xhci.0,port=1.1,id=ccid"]
        else:
            usb = ["-device", "qemu-xhci,id=xhci", "-device", "usb-ccid,bus=xhci.0,id=ccid"]
        if companions:
            usb = ["-device", "ich9-usb-ehci1,id=ehci,addr=4"]
            for i in range(3):
                usb += ["-device", "ich9-usb-uhci%d,masterbus=ehci.0,firstport=%d,addr=5.%d%s"
                        % (i + 1, 2 * i, i, ",multifunction=on" if i == 0 else "")]
            usb += ["-device", "usb-ccid,bus=ehci.0,port=1,id=ccid"]
        if hide:
            usb += ["-device", "usb-tablet,bus=xhci.0,port=2"]
        if ehci_first:
            usb = ["-device", "usb-ehci,id=ehci,addr=3", "-device", "usb-kbd,bus=ehci.0"] + usb
        if card_db:
            usb += ["-device", "ccid-card-emulated,backend=certificates,db=sql:%s,cert1=user1,cert2=user2,"
                    "cert3=user3" % card_db]
        conf = os.path.join(self.top, "hide.conf" if hide else "thinvisor.conf")
        # QEMU hands -initrd modules over by their file names; the monitor looks for thinvisor.conf.
        if hide:
            conf_dir = os.path.join(work, "conf")
            os.makedirs(conf_dir, exist_ok=True)
            shutil.copyfile(conf, os.path.join(conf_dir, "thinvisor.conf"))
            conf = os.path.join(conf_dir, "thinvisor.conf")
        modules = "%s,%s" % (conf, self.keys)
        monitor = "unix:%s,server=on,wait=off" % hmp_socket(work) if keyboard else "none"
        args = ["-accel", "tcg", "-cpu", "max", "-m", "512M", "-display", "none", "-monitor", monitor,
                "-no-reboot", "-nodefaults", "-vga", "std", "-machine", "pc", "-kernel", MONITOR, "-initrd", modules,
                "-drive", "file=%s,format=raw" % self.image] + usb + [
                "-fw_cfg", "name=opt/thinvisor/script,file=%s"
                % os.path.join(self.top, "guest_hide.sh" if hide else "guest.sh")]
        return QemuConsole(work, args, timeout)


def no_secrets(where, data):
    check(PIN.encode() not in data, "the PIN appears in %s" % where)
    # The boot canary is logged on purpose (docs/security.md); any other long hex run would be a key.
    lines = [l for l in data.splitlines() if b"canary: value" not in l]
    check(not any(re.search(rb"[0-9a-fA-F]{64}", l) for l in lines), "%s holds a 256-bit hex string (a key?)" % where)


@test
def card_opens_the_disk_after_a_wrong_pin_and_the_reader_stays_hidden(s, work):
    """[card] reader = hide: the reader's root port is the monitor's; the guest lists the tablet
    on root port 2 but never the reader."""
    image_before = sha(s.image)
    b = s.boot(work, s.nss.dir, hide=True)
    try:
        check(b.read_until(b"PIN of the card for disk 'system' (3 tries left)", 150), "no PIN prompt: %r" % b.text()[-400:])
        b.type("0000")
        check(b.read_until(b"thinvisor: wrong PIN", 60), "a wrong PIN was not reported: %r" % b.text()[-400:])
        check(b.read_until(b"(2 tries left)", 60), "no second prompt with 2 tries left: %r" % b.text()[-400:])
        b.type(PIN)
        check(b.read_until(GUEST_UP, GUEST_WAIT), "the guest did not boot after the right PIN: %r" % b.text()[-400:])
        b.read_until(b"thinvisor-guest: power-off", 240)
        b.wait_exit(30)
    finally:
        log = b.kill()
    for line in (b"card: CCID reader on xHCI port", b"card: ATR 3b", b"keys: disk 'system' unlocked with card slot 1",
                 b"xhci 00:"):
        check(line in log, "monitor.log lacks %r" % line.decode())
    # QEMU's USB port 1 is the xHCI's first USB 2 root port, after the USB 3 ones.
    kept = re.search(rb"card: the reader's root port (\d+) of xHCI [0-9a-f:.]+ is kept from the guest", log)
    check(kept, "monitor.log does not say the reader's port is kept: %r" % re.findall(rb"card: [^\n]*", log)[:8])
    check(re.search(rb"xhci [0-9a-f:.]+: root port %s \(the card reader\) is the monitor's" % kept.group(1), log),
          "the xHCI mediator did not take the reader's port %s" % kept.group(1).decode())
    seen = sorted(set(re.findall(rb"TV-USB ([0-9a-f]{4}:[0-9a-f]{4})", b.console)))
    check(TABLET in seen, "the guest lists no tablet (%r): its USB did not come up, so its missing reader proves "
          "nothing" % seen)
    check(b"08e6:4433" not in seen, "the guest sees the reader (08e6:4433) under [card] reader = hide: %r" % seen)
    ring = b"\n".join(l for l in b.console.splitlines() if l.startswith(b"TV-LOG "))
    check(b"unlocked with card slot 1" in ring, "the guest could not read the log ring (%d lines)" % len(ring.splitlines()))
    no_secrets("monitor.log", log)
    no_secrets("the guest-readable log ring", ring)
    check(b"passphrase for disk" not in b.console, "the passphrase was asked although the card opened the disk")
    check(sha(s.image) == image_before, "the guest's boot changed the image (its script only reads)")


@test
def no_card_behind_a_hub_waits_then_asks_for_the_passphrase(s, work):
    """The reader behind QEMU's usb-hub: its enumeration and power-on polls through the hub, and
    (without [card] reader = hide) the guest finding both after the controller's reset."""
    b = s.boot(work, None, hub=True)
    try:
        check(b.read_until(b"insert the card for disk 'system'", 150), "no 'insert the card' prompt: %r" % b.text()[-400:])
        check(b.read_until(b"no card was inserted; asking for the passphrase instead", 90),
              "no fallback after the wait: %r" % b.text()[-400:])
        check(b.read_until(b"passphrase for disk 'system'", 30), "no passphrase prompt")
        b.type(PASSPHRASE)
        check(b.read_until(GUEST_UP, GUEST_WAIT), "the guest did not boot with the passphrase: %r" % b.text()[-400:])
        b.wait_exit(240)
    finally:
        log = b.kill()
    check(b"keys: disk 'system' unlocked with slot 0" in log, "monitor.log lacks the passphrase unlock")
    for line in (rb"card: USB xHCI port (\d+): hub with 8 ports", rb"card: CCID reader on xHCI port \d+\.1 \(speed 1\)"):
        check(re.search(line, log), "monitor.log lacks %r (the reader behind the hub)" % line.decode())
    check(b"is kept from the guest" not in log, "the reader was kept without [card] reader = hide")
    seen = sorted(set(re.findall(rb"TV-USB ([0-9a-f]{4}:[0-9a-f]{4})", b.console)))
    check(b"08e6:4433" in seen and b"0409:55aa" in seen,
          "the guest does not see the reader (08e6:4433) behind the hub (0409:55aa) after the monitor used them; "
          "it sees %r" % seen)
    check(b"PIN of the card" not in b.console, "a PIN was asked without a card")


@test
def a_card_from_another_database_is_refused(s, work):
    """With an EHCI controller first: its enumeration, then the xHCI's reader."""
    before = sha(s.image)
    b = s.boot(work, s.other.dir, ehci_first=True)
    try:
        check(b.read_until(b"this card is not enrolled for the disk; asking for the passphrase instead", 150),
              "the stranger's card was not refused: %r" % b.text()[-400:])
        check(b.read_until(b"passphrase for disk 'system'", 30), "no passphrase prompt after the refusal")
        check(not b.read_until(GUEST_UP, 10), "the guest booted without a key")
    finally:
        log = b.kill()
    check(b"PIN of the card" not in b.console, "a PIN was asked for a card that is not enrolled")
    check(b"card: the card is not enrolled for this disk" in log, "monitor.log lacks the refusal")
    check(b"card: USB EHCI port 1: no smart-card (CCID) interface" in log,
          "monitor.log lacks the EHCI's enumeration of the keyboard: %r" % re.findall(rb"card: [^\n]*", log)[:6])
    check(b"card: CCID reader on xHCI port" in log, "the reader on the xHCI after the EHCI was not found")
    check(sha(s.image) == before, "the image changed")


def screen_shows(b, text, seconds=15):
    """Whether the VGA text screen shows text within seconds (the monitor writes COM1 first)."""
    end = time.monotonic() + seconds
    while text not in b.vga_text():
        if time.monotonic() > end:
            return False
        time.sleep(0.5)
    return True


@test
def wrong_pins_until_the_tries_run_out_halt_with_the_disk_untouched(s, work):
    """The reader on an EHCI's UHCI companion here (no xHCI): the EHCI driver hands it over.
    The second PIN is typed on the PS/2 keyboard, its prompt read from the VGA text screen."""
    wrong = "4w9z1x"  # not the PIN: typed at every prompt
    before = sha(s.image)
    b = s.boot(work, s.nss.dir, companions=True, keyboard=True)
    try:
        for left in (3, 2, 1):
            prompt = b"PIN of the card for disk 'system' (%d tries left)" % left
            check(b.read_until(prompt, 150 if left == 3 else 90), "no PIN prompt with %d tries left: %r"
                  % (left, b.text()[-400:]))
            if left != 2:
                b.type(wrong)  # the next prompt (or the halt) says it was taken
                continue
            check(screen_shows(b, prompt.decode()), "the PIN prompt is not on the VGA screen: %r"
                  % b.vga_text().strip()[-300:])
            check(screen_shows(b, "thinvisor: wrong PIN"), "the wrong PIN is not said on the VGA screen")
            for c in wrong:
                b.hmp("sendkey %s" % c)
            time.sleep(1)
            check(wrong not in b.vga_text() and wrong.encode() not in b.console, "the PIN typed is echoed")
            b.hmp("sendkey ret")
        check(b.read_until(b"the card did not open disk 'system' (too many wrong PINs)", 90),
              "no halt message after 3 wrong PINs: %r" % b.text()[-400:])
        check(b.read_until(b"thinvisor: the guest is NOT booted", 30), "the monitor did not refuse to boot: %r"
              % b.text()[-400:])
        check(not b.read_until(GUEST_UP, 10), "the guest booted after 3 wrong PINs")
    finally:
        log = b.kill()
    check(b.console.count(b"thinvisor: wrong PIN") == 3, "%d 'wrong PIN' lines, not 3"
          % b.console.count(b"thinvisor: wrong PIN"))
    check(b"passphrase for disk" not in b.console, "the passphrase was asked after the PIN tries ran out")
    check(b.console.count(b"PIN of the card for disk") == 3, "%d PIN prompts, not 3"
          % b.console.count(b"PIN of the card for disk"))
    check(b"card: too many wrong PINs" in log, "monitor.log lacks the outcome")
    for line in (b"card: EHCI port 1: a full- or low-speed device, left to the companion controller",
                 b"card: CCID reader on UHCI port 1 (speed 1)"):
        check(line in log, "monitor.log lacks %r (the reader on the EHCI's UHCI companion): %r"
              % (line.decode(), re.findall(rb"card: [^\n]*", log)[:6]))
    check(wrong.encode() not in log, "a wrong PIN appears in monitor.log")
    no_secrets("monitor.log", log)
    check(sha(s.image) == before, "the image changed")


def selected(name, only):
    return not only or any(p in name or fnmatch.fnmatch(name, p) for p in only.split(","))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", metavar="PATTERN")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    names = ["card_boot." + t.__name__ for t in TESTS]
    if args.list:
        print("\n".join(names))
        return 0
    tests = [t for t, n in zip(TESTS, names) if selected(n, args.only)]
    gone = _card_pki.missing_tools() + [p for p in (MONITOR, DISK_IMAGE, DISK_TOOL, ENROLL) if not os.path.exists(p)]
    if gone:
        print("FAIL card_boot: missing %s" % ", ".join(gone))
        return 1
    top = tempfile.mkdtemp(prefix="tv-card-boot-")
    failed = 0
    try:
        s = Setup(top)
        for t in tests:
            name = "card_boot." + t.__name__
            work = tempfile.mkdtemp(dir=top)
            t0 = time.time()
            try:
                t(s, work)
                print("PASS %s [%.1fs]" % (name, time.time() - t0), flush=True)
            except Failure as ex:
                failed += 1
                print("FAIL %s: %s (files in %s)" % (name, ex, work), flush=True)
            except Exception as ex:  # a crash of the test itself is a failure too
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(ex).__name__, ex), flush=True)
    finally:
        if not failed:
            shutil.rmtree(top, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
