#!/usr/bin/env python3
"""The guest boots from a disk on a vblade server without knowing it (docs/aoe.md).

vblade serves a copy of build/guest/disk.img on a tap in a private network namespace (names
carry this process's PID); QEMU -machine pc has NO disk (its PIIX IDE controller is empty) and
an e1000 on that tap; thinvisor (multiboot, thinvisor.conf with [network] and [aoe]) emulates
the primary IDE master from the AoE target. The guest boots through the monitor's INT 13h
(syslinux), then Linux's ata_piix drives the emulated disk.

Tests:
  boot     the guest boots from the AoE disk, sees the AoE model, writes a file with DMA;
           after power-off the file is in the server's image (mtools). Meanwhile a hostile
           peer on the tap sends malformed and spoofed AoE frames: the monitor refuses and
           counts them, and the boot is unaffected; no frame is lost, so retransmissions
           stay under RETX_BOUND (4 %) of the frames sent
  boot-encrypted
           the server's image is encrypted offline (thinvisor-disk), thinvisor.conf has a
           [disk.net] with bus = aoe: the guest boots from it after the passphrase, writes a
           marker file; the server's image holds no plaintext marker or boot loader, and
           thinvisor-disk decrypt recovers the file from it
  outage   vblade is stopped and restarted while the guest writes with fsync: every write
           lands (checksums in the server's image); then an outage longer than [aoe]
           timeout_ms: the guest gets an I/O error and the monitor logs the failure, while
           the monitor clock's jobs keep running (no "held off" line); once vblade is back,
           writes work again

Prints `PASS name ...` or `FAIL name: why`, exits non-zero on failure. Everything it creates
(namespace, tap, vblade, QEMU, files) is removed on every exit path (try/finally, atexit and
signal handlers in _netlib). Needs root. `--only NAME` selects tests.
"""
import argparse
import hashlib
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _netlib import DISK, MONITOR, ROOT, Guest, Net, RawSocket, mac_bytes  # noqa: E402

LOGS = os.path.join(ROOT, "build", "test-results", "aoe_boot")
SHELF, SLOT = 1, 2
RETX_BOUND = 0.04  # retransmissions per frame sent on a quiet run
TIMEOUT_MS = 5000
PART_OFFSET = 2048 * 512
QEMU_LIMIT = 1500

CONF = """[network]
dhcp = no
mac = 02:00:00:a0:e0:01
address = 10.77.0.9
netmask = 255.255.255.0
gateway = 10.77.0.1

[aoe]
shelf = %d
slot = %d
timeout_ms = %d
""" % (SHELF, SLOT, TIMEOUT_MS)

# Runs as the guest's script (fw_cfg opt/thinvisor/script); the init powers off after it.
BOOT_SCRIPT = r"""
echo "AOE-MODEL $(cat /sys/block/sda/device/model 2>&1)"
mkdir -p /mnt/d
mount -t vfat /dev/sda1 /mnt/d || echo "AOE-FAIL mount"
dd if=/dev/urandom of=/mnt/d/AOEDATA.BIN bs=4k count=64 conv=fsync 2>/dev/null
echo "AOE-SUM $(md5sum /mnt/d/AOEDATA.BIN | cut -d' ' -f1)"
umount /mnt/d && echo "AOE-DONE"
"""

OUTAGE_SCRIPT = r"""
mkdir -p /mnt/d
mount -t vfat /dev/sda1 /mnt/d || echo "AOE-FAIL mount"
i=1
while [ $i -le 10 ]; do
    dd if=/dev/urandom of=/mnt/d/W$i.BIN bs=4k count=32 conv=fsync 2>/dev/null
    echo "AOE-WROTE $i $? $(md5sum /mnt/d/W$i.BIN | cut -d' ' -f1)"
    i=$((i+1))
done
echo "AOE-LONG-READY"
read go
dd if=/dev/urandom of=/mnt/d/LONG.BIN bs=4k count=16 conv=fsync 2>/dev/null
echo "AOE-LONG-RC $?"
echo "AOE-AFTER-READY"
read go
dd if=/dev/urandom of=/mnt/d/AFTER.BIN bs=4k count=16 conv=fsync 2>/dev/null
echo "AOE-AFTER $? $(md5sum /mnt/d/AFTER.BIN | cut -d' ' -f1)"
umount /mnt/d
echo "AOE-DONE"
"""


MONITOR_MAC = "02:00:00:a0:e0:01"
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
PASSPHRASE = "aoe suite passphrase"
MARKER = "TVAOEMARKER-plaintext-must-not-reach-the-target"

ENCRYPTED_SCRIPT = r"""
mkdir -p /mnt/d
mount -t vfat /dev/sda1 /mnt/d || echo "AOE-FAIL mount"
{ echo "%s"; head -c 131072 /dev/urandom; } > /mnt/d/MARKED.BIN
sync
echo "AOE-SUM $(md5sum /mnt/d/MARKED.BIN | cut -d' ' -f1)"
umount /mnt/d && echo "AOE-DONE"
""" % MARKER


class Junk(threading.Thread):
    """Malformed and spoofed AoE frames at the monitor (unicast and broadcast) until stopped:
    truncated headers, bad versions, unknown commands, replies with random tags from the
    target's own MAC and from strangers, odd lengths."""

    def __init__(self, net):
        super().__init__(daemon=True)
        self.sock = RawSocket(net, 0x88A2)
        self.stop_ev = threading.Event()
        self.sent = 0
        self.rng = random.Random(PIDSEED)

    def frame(self):
        r = self.rng
        dst = mac_bytes(MONITOR_MAC) if r.random() < 0.7 else b"\xff" * 6
        src = self.sock.mac if r.random() < 0.5 else bytes([2] + [r.randrange(256) for _ in range(5)])
        verflags = r.choice([0x18, 0x18, 0x18, 0x08, 0x28, 0x1c, 0x00])
        cmd = r.choice([0, 0, 1, 1, 2, 7, 0xF0])
        hdr = struct.pack(">BBHBBI", verflags, r.choice([0, 0, 3]), SHELF if r.random() < 0.8 else r.randrange(65536),
                          SLOT, cmd, r.getrandbits(32))
        body = bytes(r.getrandbits(8) for _ in range(r.choice([0, 1, 11, 12, 24, 512, 1024, r.randrange(1400)])))
        whole = dst + src + b"\x88\xa2" + hdr + body
        return whole[:r.choice([len(whole)] * 4 + [15, 20, 23])]

    def run(self):
        while not self.stop_ev.wait(0.05):
            for _ in range(10):
                try:
                    self.sock.send(self.frame())
                    self.sent += 1
                except OSError:
                    pass

    def stop(self):
        self.stop_ev.set()
        self.join(5)
        self.sock.close()


PIDSEED = os.getpid()


class Server:
    """vblade on the namespace's tap, serving a copy of the demo disk."""

    def __init__(self, net):
        self.net = net
        self.image = net.path("server.img")
        shutil.copyfile(DISK, self.image)
        self.proc = None

    def start(self):
        self.proc = self.net.spawn(["vblade", str(SHELF), str(SLOT), self.net.tap, self.image], QEMU_LIMIT,
                                   "vblade.log")

    def stop(self):
        Net.kill(self.proc)
        self.proc = None

    def encrypt(self, keys, pf):
        """The image as thinvisor-disk encrypts it offline (every sector, MBR included)."""
        subprocess.run([TOOL, "format", keys, "--passphrase-file", pf, "--iterations", "2000", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([TOOL, "encrypt", self.image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)

    def file_md5(self, name, image=None):
        r = subprocess.run(["timeout", "30", "mtype", "-i", "%s@@%d" % (image or self.image, PART_OFFSET), "::" + name],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
        return hashlib.md5(r.stdout).hexdigest() if r.returncode == 0 else None


class Machine(Guest):
    """QEMU -machine pc with no disk, an e1000 on the tap, thinvisor with the conf module; the
    guest runs `script` (fw_cfg) and powers off."""

    def __init__(self, net, name, script, conf_text=CONF, extra=(), modules=()):
        work = net.path(name)
        os.makedirs(work, exist_ok=True)
        sc = os.path.join(work, "script.sh")
        with open(sc, "w") as f:
            f.write(script)
        super().__init__(net, work, conf_text=conf_text, disk=None, script=sc, timeout=QEMU_LIMIT, extra=extra,
                         modules=modules)

    def finish(self, seconds=120):
        """Waits for the script's power-off; the monitor log."""
        self.wait_for(rb"thinvisor-guest: power-off", seconds)
        end = time.monotonic() + 30
        while self.proc.poll() is None and time.monotonic() < end:
            time.sleep(0.2)
        log = self.kill()
        self.save_console()
        return log

    def save(self, name):
        dst = os.path.join(LOGS, name)
        os.makedirs(dst, exist_ok=True)
        for f in ("console.log", "monitor.log"):
            p = os.path.join(self.work, f)
            if os.path.exists(p):
                shutil.copy(p, dst)


def test_boot(net):
    srv = Server(net)
    srv.start()
    junk = Junk(net)
    m = Machine(net, "boot", BOOT_SCRIPT)
    junk.start()
    try:
        done = m.wait_for(rb"AOE-DONE|AOE-FAIL|Kernel panic", 900)
        junk.stop()
        log = m.finish()
    finally:
        junk.stop()
        Net.kill(m.proc)
        srv.stop()
        m.save("boot")
    con = m.console.decode("utf-8", "replace")
    if "aoe-disk: e%d.%d" % (SHELF, SLOT) not in log:
        return "the monitor did not attach the AoE disk (see build/test-results/aoe_boot/boot)"
    if "bios: INT 13h drive 0x80 served by the monitor" not in log:
        return "no INT 13h hook for drive 0x80"
    if not done or b"AOE-DONE" not in done.group(0):
        return "the guest did not finish its script (%s)" % (done.group(0) if done else "no marker")
    model = re.search(r"AOE-MODEL (.*)", con)
    if not model or "AoE e1.2" not in model.group(1):
        return "the guest's sda is not the AoE disk: %r" % (model.group(1) if model else None)
    if "ata1.01:" in con:
        return "the guest found a slave device on the primary channel"
    if "ata1.00: ATA-7: AoE e1.2 thinvisor" not in con:
        return "ata_piix did not identify the AoE disk as the primary master"
    s = re.search(r"AOE-SUM ([0-9a-f]{32})", con)
    if not s:
        return "no checksum from the guest"
    got = srv.file_md5("AOEDATA.BIN")
    if got != s.group(1):
        return "the file in the server's image has md5 %s, the guest wrote %s" % (got, s.group(1))
    dma = re.search(r"aoe-disk: \d+ commands .*?(\d+) DMA commands \((\d+) KiB\)", log)
    if not dma or int(dma.group(1)) == 0:
        return "no DMA command reached the AoE disk"
    irq = re.search(r"(\d+) interrupts sent", log)
    refused = re.search(r"\d+ in \((\d+) refused\)", log)
    if not refused or int(refused.group(1)) == 0:
        return "%d hostile frames sent, but the monitor refused none" % junk.sent
    # A quiet network (the hostile frames are refused, none is lost): retransmissions stay
    # under RETX_BOUND of the frames sent (issue 22, item 3). Before the initiator timed late
    # first answers and paced its samples, runs here retransmitted 5.5-6.9 % at a host load of
    # 10-12 and 15 % at 19; after, 1.4 % at 13-15 and 2.7 % at 18, every one needless (late).
    net_line = re.search(r"aoe-disk: network: (\d+) frames out, (\d+) retransmits", log)
    if not net_line:
        return "no 'aoe-disk: network:' counters at power-off"
    frames, retx = int(net_line.group(1)), int(net_line.group(2))
    if retx > RETX_BOUND * frames:
        return "%d retransmissions of %d frames on a quiet network (bound %.0f %%)" % (retx, frames, RETX_BOUND * 100)
    return "PASS booted from e%d.%d, wrote 256 KiB (md5 ok); %s DMA commands, %s KiB, %s interrupts; " \
           "%d hostile frames sent, %s refused; %d retransmits of %d frames" % (
               SHELF, SLOT, dma.group(1), dma.group(2), irq.group(1) if irq else "?", junk.sent, refused.group(1),
               retx, frames)


def test_boot_encrypted(net):
    srv = Server(net)
    work = net.path("enc")
    os.makedirs(work)
    keys, pf = os.path.join(work, "net.keys"), os.path.join(work, "pass")
    with open(pf, "w") as f:
        f.write(PASSPHRASE)
    srv.encrypt(keys, pf)
    srv.start()
    conf = CONF + "\n[disk.net]\nbus = aoe\nkeyslots = net.keys\n"
    m = Machine(net, "enc", ENCRYPTED_SCRIPT, conf_text=conf, modules=[keys])
    try:
        if not m.read_until(b"passphrase for disk 'net'", 300):
            return "no passphrase prompt for the AoE disk (%r)" % m.console[-300:]
        m.send(PASSPHRASE)
        done = m.wait_for(rb"AOE-DONE|AOE-FAIL|Kernel panic", 900)
        log = m.finish()
    finally:
        Net.kill(m.proc)
        srv.stop()
        m.save("boot-encrypted")
    con = m.console.decode("utf-8", "replace")
    if not re.search(r"aoe-disk: disk 'AOE[0-9A-F]{6}-E%d\.%d': encrypted" % (SHELF, SLOT), log):
        return "the monitor did not encrypt the AoE disk (see build/test-results/aoe_boot/boot-encrypted)"
    if not done or b"AOE-DONE" not in done.group(0):
        return "the guest did not boot from the encrypted AoE disk and write (%s)" % (
            done.group(0) if done else "no marker")
    s = re.search(r"AOE-SUM ([0-9a-f]{32})", con)
    if not s:
        return "no checksum from the guest"
    with open(srv.image, "rb") as f:
        raw = f.read()
    if MARKER.encode() in raw:
        return "the guest's plaintext marker is in vblade's image"
    if b"SYSLINUX" in raw[:8 << 20]:
        return "the boot loader is readable in vblade's image"
    plain = os.path.join(work, "decrypted.img")
    shutil.copyfile(srv.image, plain)
    subprocess.run([TOOL, "decrypt", plain, "--keyslots", keys, "--passphrase-file", pf, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    if srv.file_md5("MARKED.BIN", plain) != s.group(1):
        return "thinvisor-disk decrypt did not recover the guest's file from vblade's image"
    return "PASS booted from encrypted e%d.%d; vblade's image holds no plaintext marker; " \
           "thinvisor-disk decrypt recovered the file (md5 ok)" % (SHELF, SLOT)


def test_outage(net):
    srv = Server(net)
    srv.start()
    m = Machine(net, "outage", OUTAGE_SCRIPT)
    sums = {}
    long_rc = after = None
    try:
        if not m.wait_for(rb"AOE-WROTE 2 ", 900):
            return "the guest did not start writing (%s)" % m.console[-300:].decode("utf-8", "replace")
        srv.stop()
        time.sleep(TIMEOUT_MS / 2000.0)  # half the deadline: the monitor must ride it out
        srv.start()
        if not m.wait_for(rb"AOE-LONG-READY", 600):
            return "the writes did not finish after the short outage"
        srv.stop()
        m.send("go")
        r = m.wait_for(rb"AOE-LONG-RC (\d+)", 600)
        long_rc = int(r.group(1)) if r else None
        srv.start()
        m.wait_for(rb"AOE-AFTER-READY", 120)
        m.send("go")
        a = m.wait_for(rb"AOE-AFTER (\d+) ([0-9a-f]{32})", 300)
        after = (int(a.group(1)), a.group(2).decode()) if a else None
        m.wait_for(rb"AOE-DONE", 120)
        log = m.finish()
    finally:
        Net.kill(m.proc)
        srv.stop()
        m.save("outage")
    con = m.console.decode("utf-8", "replace")
    for i, rc, md5 in re.findall(r"AOE-WROTE (\d+) (\d+) ([0-9a-f]{32})", con):
        if rc != "0":
            return "write %s failed in the guest during the short outage" % i
        sums[i] = md5
    if len(sums) != 10:
        return "only %d of 10 writes reported" % len(sums)
    for i, md5 in sums.items():
        got = srv.file_md5("W%s.BIN" % i)
        if got != md5:
            return "W%s.BIN in the server's image: md5 %s, the guest wrote %s" % (i, got, md5)
    if long_rc is None:
        return "the guest never finished the write during the long outage"
    if long_rc == 0:
        return "the write during the long outage reported success"
    if not re.search(r"aoe-disk: command 0x[0-9a-f]+ failed at sector \d+: target timed out", log):
        return "the monitor did not log the timed-out command"
    held = re.search(r"clock: held off \d+ ms, \d+ ms of it in the monitor's handling of one exit", log)
    if held:  # the disk's wait runs the clock's jobs (drivers/aoe_disk, PortPoller::poll)
        return "the outage held the monitor clock off: %s" % held.group(0)
    if not after or after[0] != 0:
        return "writing after the target came back failed: %r" % (after,)
    if srv.file_md5("AFTER.BIN") != after[1]:
        return "AFTER.BIN did not land in the server's image"
    retx = re.search(r"(\d+) retransmits", log)
    return "PASS 10 writes across a %.1f s outage all landed; a %d ms+ outage gave the guest an I/O error " \
           "(dd status %d) and a monitor log line; writes resumed (%s retransmits)" % (
               TIMEOUT_MS / 2000.0, TIMEOUT_MS, long_rc, retx.group(1) if retx else "?")


TESTS = [("aoe-boot", test_boot), ("aoe-boot-encrypted", test_boot_encrypted), ("aoe-boot-outage", test_outage)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    for need, why in ((MONITOR, "build/thinvisor.elf (make)"), (DISK, "build/guest/disk.img (make guest)")):
        if not os.path.exists(need):
            print("FAIL aoe-boot-setup: %s missing" % why)
            return 1
    if not shutil.which("vblade") or not shutil.which("mtype"):
        print("FAIL aoe-boot-setup: vblade and mtools are needed")
        return 1
    os.makedirs(LOGS, exist_ok=True)
    failed = 0
    for name, fn in TESTS:
        if args.only and args.only != name:
            continue
        net = Net("ab")
        try:
            net.setup()
            res = fn(net)
        except Exception as e:  # a broken environment is a failure of this test, not a crash
            res = "exception: %s" % e
        finally:
            net.cleanup()
        if res.startswith("PASS"):
            print("PASS %s: %s" % (name, res[5:]))
        else:
            failed += 1
            print("FAIL %s: %s" % (name, res))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
