#!/usr/bin/env python3
"""The IDE mediator with disk encryption on Intel VT-x (Bochs 2.7): unlock on COM1, PIO and DMA.

Bochs boots a GRUB CD that loads build/thinvisor.elf with thinvisor.conf and a keyslot file as
modules; the disk (Bochs' primary slave, serial BXHD00012) is encrypted with that keyslot file
by build/tools/thinvisor-disk. COM1 is a TCP socket this script listens on (Bochs'
`mode=socket-client`): the monitor's passphrase prompt comes there, and the script types the
passphrase. The guest is not Linux (far too slow under Bochs) but one boot sector,
tests/bochs/ide_guest.asm, that drives the disk itself through the IDE mediator: it writes a
marker sector by PIO (WRITE SECTORS) and another by bus-master DMA (WRITE DMA), reads both back
(READ SECTORS, READ DMA) and reports on COM1. Checked, in two Bochs boots of the same disk:
  - boot 1: the prompt comes, the passphrase unlocks slot 0, the guest (decrypted by the
    mediator from an encrypted sector 0) runs and reads back what it wrote: `TV-IDE wrote
    pio=ok dma=ok`;
  - between the boots: the image holds neither marker (ciphertext only) and its sector 0 is
    not the guest's boot sector;
  - boot 2: the guest finds both markers written in boot 1: `TV-IDE found pio=ok dma=ok`.
Each boot is wrapped in `timeout` (BOOT_TIMEOUT: 300 s, TV_BOCHS_DISK_TIMEOUT); measured 12-18 s each.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on failure. Logs in
build/test-results/bochs_disk/ (console-N.log = COM1, monitor-N.log = COM2, bochs-N.log).
"""
import os
import pty
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bochs as bx  # noqa: E402

ROOT = bx.ROOT
LOGS = os.path.join(ROOT, "build", "test-results", "bochs_disk")
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
GUEST_ASM = os.path.join(ROOT, "tests", "bochs", "ide_guest.asm")
BOOT_TIMEOUT = int(os.environ.get("TV_BOCHS_DISK_TIMEOUT", "300"))
PASSPHRASE = "correct horse battery staple"
MARKERS = [b"TVBOCHS-PIO-MRK!", b"TVBOCHS-DMA-MRK!"]
SERIAL = "BXHD00012"  # Bochs' IDENTIFY serial of ata0-slave
CONF = """[disk.system]
serial = %s
keyslots = system.keys
""" % SERIAL
BOCHSRC = """display_library: term
megs: 64
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=corei7_haswell_4770, count=1, reset_on_triple_fault=0, ips=50000000
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=%(iso)s, status=inserted
ata0-slave: type=disk, path=%(disk)s, mode=flat, cylinders=80, heads=4, spt=63, translation=lba
boot: cdrom
com1: enabled=1, mode=socket-client, dev=localhost:%(port)d
com2: enabled=1, mode=file, dev=%(com2)s
log: %(log)s
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
"""
GRUB = """set timeout=0
set default=0
menuentry "thinvisor" {
    multiboot /boot/thinvisor.elf
    module /boot/thinvisor.conf /boot/thinvisor.conf
    module /boot/system.keys /boot/system.keys
    boot
}
"""


def build_inputs(work):
    """The GRUB CD with the monitor, thinvisor.conf and system.keys; the encrypted disk."""
    pf = os.path.join(work, "pass")
    with open(pf, "w") as f:
        f.write(PASSPHRASE)
    iso_root = os.path.join(work, "iso")
    os.makedirs(os.path.join(iso_root, "boot", "grub"))
    keys = os.path.join(iso_root, "boot", "system.keys")
    # Few iterations: PBKDF2 inside the monitor runs under full emulation.
    subprocess.run(["timeout", "60", TOOL, "format", keys, "--passphrase-file", pf, "--iterations", "2000",
                    "--quiet"], check=True, stdout=subprocess.DEVNULL)
    shutil.copy(os.environ.get("TV_BOCHS_MONITOR", bx.MONITOR), os.path.join(iso_root, "boot", "thinvisor.elf"))
    with open(os.path.join(iso_root, "boot", "thinvisor.conf"), "w") as f:
        f.write(CONF)
    with open(os.path.join(iso_root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB)
    iso = os.path.join(work, "thinvisor.iso")
    p = subprocess.run(["timeout", "120", "grub-mkrescue", "-d", "/usr/lib/grub/i386-pc", "-o", iso, iso_root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise RuntimeError("grub-mkrescue failed: %s" % p.stdout.strip()[-300:])
    boot = os.path.join(work, "ide_guest.bin")
    subprocess.run(["timeout", "30", "nasm", "-f", "bin", GUEST_ASM, "-o", boot], check=True)
    with open(boot, "rb") as f:
        sector = f.read()
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.write(sector)
        # 80 cylinders x 4 heads x 63: with translation=lba the Bochs BIOS's logical geometry
        # (16 heads) differs from this, so its INT 13h reads go out as LBA. With an
        # untranslated geometry it sends CHS, which the mediator refuses on an encrypted disk.
        f.truncate(80 * 4 * 63 * 512)
    subprocess.run(["timeout", "120", TOOL, "encrypt", disk, "--keyslots", keys, "--passphrase-file", pf, "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    return iso, disk, sector


class Console(threading.Thread):
    """COM1: Bochs connects to our listening socket; we keep what it sends and type into it."""

    def __init__(self, srv):
        super().__init__(daemon=True)
        self.srv, self.conn, self.data = srv, None, b""
        self.connected = threading.Event()

    def run(self):
        self.srv.settimeout(60)
        try:
            self.conn, _ = self.srv.accept()
        except OSError:
            return
        self.connected.set()
        while True:
            try:
                chunk = self.conn.recv(4096)
            except OSError:
                return
            if not chunk:
                return
            self.data += chunk

    def type(self, text):
        for ch in text.encode() + b"\r":  # one at a time: the UART holds one byte
            self.conn.sendall(bytes([ch]))
            time.sleep(0.02)


def boot(work, n, iso, disk):
    """One Bochs boot; types the passphrase at the prompt. Returns (console, monitor log, notes)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    con = Console(srv)
    con.start()
    com2, log = os.path.join(work, "monitor-%d.log" % n), os.path.join(work, "bochs-%d.log" % n)
    with open(os.path.join(work, "bochsrc.txt"), "w") as f:
        f.write(BOCHSRC % {"iso": iso, "disk": disk, "port": srv.getsockname()[1], "com2": com2, "log": log})
    with open(os.path.join(work, "dbgcmds.txt"), "w") as f:
        f.write("c\n")
    t0 = time.monotonic()
    pid, master = bx.spawn_bochs(work, BOOT_TIMEOUT)
    bx.Drain(master, {}).start()
    problems = []
    try:
        end = t0 + BOOT_TIMEOUT - 10
        typed = False
        while time.monotonic() < end and not os.waitpid(pid, os.WNOHANG)[0]:
            if not typed and b"passphrase for disk 'system'" in con.data:
                con.type(PASSPHRASE)
                typed = True
            if re.search(r"power-off: exit counts|thinvisor: halted|guest is NOT booted|nothing to boot", bx.read(com2)):
                time.sleep(1)
                break
            time.sleep(0.2)
        if not con.connected.is_set():
            problems.append("Bochs never connected to the COM1 socket")
        elif not typed:
            problems.append("no passphrase prompt on COM1 (COM1 ends %r)" % con.data[-200:])
    finally:
        bx.stop(pid)
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
        os.close(master)
        srv.close()
        if con.conn:
            con.conn.close()
    with open(os.path.join(work, "console-%d.log" % n), "wb") as f:
        f.write(con.data)
    return con.data.decode("utf-8", "replace"), bx.read(com2), problems, time.monotonic() - t0


def judge(n, console, monitor, want):
    problems = [l.strip()[:200] for l in monitor.splitlines() if "PANIC" in l]
    if "keys: disk 'system' unlocked with slot 0" not in monitor:
        problems.append("boot %d: monitor.log does not record the unlock (ends: %s)" % (n, bx.tail(monitor)))
    # channels are named by their place (PCI function, primary/secondary), then the drive
    if not re.search(r"ide-[0-9a-f:.]+-primary\.1: disk '%s', 512-byte sectors: encrypted" % SERIAL, monitor):
        problems.append("boot %d: monitor.log does not show the primary slave encrypted" % n)
    m = re.search(r"TV-IDE (\w+) pio=(\w+)\s+dma=(\w+)", console)
    if not m:
        problems.append("boot %d: no TV-IDE line from the guest (COM1 ends %r)" % (n, console[-200:]))
    elif (m.group(1), m.group(2), m.group(3)) != (want, "ok", "ok"):
        problems.append("boot %d: guest says %r, want 'TV-IDE %s pio=ok dma=ok'" % (n, m.group(0), want))
    return problems


def image_problems(disk, sector):
    with open(disk, "rb") as f:
        data = f.read()
    out = ["the raw image holds the plaintext marker %r" % mk.decode() for mk in MARKERS if mk in data]
    if data[:512] == sector:
        out.append("the raw image's sector 0 is the guest's plaintext boot sector")
    return out


def run():
    os.makedirs(LOGS, exist_ok=True)
    for f in os.listdir(LOGS):
        if f.endswith(".log"):
            os.unlink(os.path.join(LOGS, f))
    tmp = tempfile.mkdtemp(prefix="bochs-disk-")
    problems, notes = [], []
    try:
        iso, disk, sector = build_inputs(tmp)
        for n, want in ((1, "wrote"), (2, "found")):
            console, monitor, p, secs = boot(LOGS, n, iso, disk)
            problems += p + judge(n, console, monitor, want)
            counts = re.search(r"power-off: exit counts (.*)", monitor)
            notes.append("boot %d %.0f s, exits %s" % (n, secs, counts.group(1).strip() if counts else "?"))
            if n == 1:
                problems += image_problems(disk, sector)
            if problems:
                break
    except Exception as e:  # noqa: BLE001 -- a broken run is a failure, not a crash
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return problems, notes


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="", help="run only if bochs-ide-encrypted contains this")
    ap.add_argument("--list", action="store_true", help="list the test and exit")
    args = ap.parse_args()
    if args.list:
        print("bochs-ide-encrypted")
        return 0
    if args.only and args.only not in "bochs-ide-encrypted":
        return 0
    missing = [t for t in ("bochs", "grub-mkrescue", "xorriso", "nasm", "timeout") if shutil.which(t) is None]
    missing += [p for p in (bx.MONITOR, TOOL) if not os.path.isfile(p)]
    if missing:
        print("FAIL bochs-ide-encrypted: missing %s" % ", ".join(missing))
        return 1
    problems, notes = run()
    if problems:
        print("FAIL bochs-ide-encrypted: %s (logs in %s)" % ("; ".join(problems), os.path.relpath(LOGS, ROOT)))
        return 1
    print("PASS bochs-ide-encrypted %s" % "; ".join(notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
