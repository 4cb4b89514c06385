#!/usr/bin/env python3
"""The IDE mediator with transparent XTS encryption, end to end on QEMU -machine pc (PIIX3
IDE): SeaBIOS boots the guest through PIO reads, Linux's ata_piix reads and writes with
bus-master DMA, all through thinvisor's IDE mediator.

The guest image gets a second FAT partition for data (the boot partition has too little
room), then the whole image (MBR included) is encrypted offline with thinvisor-disk; the
monitor unlocks the key with the passphrase typed on COM1.

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks tests.
QEMU 7.2 refuses logical_block_size=4096 for IDE disks, so 4096-byte sectors are covered by
the host unit tests (tests/unit/test_ide_*.cpp) only."""
import argparse
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
GUEST = os.path.join(ROOT, "tests", "qemu", "guest")
PASSPHRASE = "ide suite passphrase"
MARKER = b"TVIDEMARKER-plaintext-must-not-reach-the-disk"
SIZE_MB = 64
DATA_START = 131072  # sector of the data partition, right after the 64 MiB boot image
DATA_MB = 96
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
"""


class Boot:
    """One QEMU pc run: COM1 on a socket (passphrase in, guest console out), COM2 in a file."""

    def __init__(self, work, image, script, timeout=300, conf="thinvisor.conf", extra=(), monitor=True):
        self.sock_path = os.path.join(work, "com1.sock")
        self.monlog = os.path.join(work, "monitor.log")
        self.console = b""
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        cmd = ["timeout", "-k", "5", str(timeout), "qemu-system-x86_64", "-accel", "tcg", "-machine", "pc",
               "-cpu", "max", "-m", "512M", "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
               "-vga", "std", "-chardev", "socket,id=com1,path=%s,server=on,wait=on" % self.sock_path,
               "-serial", "chardev:com1", "-serial", "file:" + self.monlog,
               "-drive", "file=%s,format=raw,if=none,id=d0" % image, "-device", "ide-hd,drive=d0,bus=ide.0,unit=0"]
        cmd += list(extra) + (["-kernel", MONITOR] if monitor else [])
        if script:
            cmd += ["-fw_cfg", "name=opt/thinvisor/script,file=%s" % script]
        if conf and monitor:
            cmd += ["-initrd", "%s,%s" % (os.path.join(work, conf), os.path.join(work, "system.keys"))]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock_path):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("QEMU did not open its COM1 socket")
            time.sleep(0.1)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.sock_path)
        self.sock.settimeout(0.5)
        if conf == "thinvisor.conf" and monitor:
            if not self.read_until(b"passphrase for disk 'system'", 90):
                raise RuntimeError("no passphrase prompt")
            self.sock.sendall(PASSPHRASE.encode() + b"\r")

    def read_until(self, needle, seconds):
        end = time.monotonic() + seconds
        while needle not in self.console and time.monotonic() < end:
            try:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.console += data
            except socket.timeout:
                if self.proc.poll() is not None:
                    break
        return needle in self.console

    def finish(self, seconds):
        self.read_until(b"thinvisor-guest: power-off", seconds)
        end = time.monotonic() + 30
        while self.proc.poll() is None and time.monotonic() < end:
            self.read_until(b"\0never", 1)
        return self.kill()

    def sigkill_qemu(self):
        """SIGKILL to QEMU itself (the child of `timeout`), as a power cut would."""
        r = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True)
        for pid in r.stdout.split():
            os.kill(int(pid), 9)
        self.proc.wait()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sock.close()
        with open(self.monlog, "rb") as f:
            return f.read()

    def text(self):
        return self.console.decode("utf-8", "replace")

    def save_console(self, work):
        with open(os.path.join(work, "console.log"), "wb") as f:
            f.write(self.console)


def write_script(work, name, body_file, prefix=""):
    path = os.path.join(work, name)
    with open(os.path.join(GUEST, body_file)) as src, open(path, "w") as f:
        f.write(prefix + src.read())
    return path


def add_data_partition(image):
    """A second FAT partition after the boot image, for the big files."""
    with open(image, "r+b") as f:
        f.truncate((DATA_START + DATA_MB * 2048) * 512)
    subprocess.run(["sfdisk", "--append", "--no-reread", "--no-tell-kernel", "-q", image],
                   input=b"start=%d, size=%d, type=e\n" % (DATA_START, DATA_MB * 2048), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["mkfs.fat", "-F", "16", "-n", "TVDATA", "--offset=%d" % DATA_START, image, str(DATA_MB * 1024)],
                   check=True, stdout=subprocess.DEVNULL)


def prepare(work, encrypt=True):
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(CONF)
    pf = os.path.join(work, "pass")
    with open(pf, "w") as f:
        f.write(PASSPHRASE)
    keys = os.path.join(work, "system.keys")
    # Few iterations: PBKDF2 inside the monitor runs under full emulation.
    subprocess.run([TOOL, "format", keys, "--passphrase-file", pf, "--iterations", "2000", "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    image = os.path.join(work, "disk.img")
    shutil.copyfile(DISK, image)
    add_data_partition(image)
    if encrypt:
        subprocess.run([TOOL, "encrypt", image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
    return image, keys, pf


def decrypt(image, keys, pf):
    subprocess.run([TOOL, "decrypt", image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)


def fsck_problems(image):
    """fsck.vfat -n on the (decrypted) data partition; a dirty bit alone is not damage."""
    part = image + ".part"
    with open(image, "rb") as src, open(part, "wb") as dst:
        src.seek(DATA_START * 512)
        shutil.copyfileobj(src, dst)
    r = subprocess.run(["fsck.vfat", "-n", part], capture_output=True, text=True)
    os.unlink(part)
    lines = [l for l in (r.stdout + r.stderr).splitlines()
             if l.strip() and not re.match(r"(fsck\.fat|/|Dirty bit|Leaving filesystem unchanged|Automatically removing|"
                                           r".*files?, .*clusters| ?Automatically|There are differences|"
                                           r"  Not automatically)", l)]
    return ["fsck.vfat -n: %s" % " | ".join(lines[:6])] if r.returncode not in (0, 1) or lines else []


def guest_up_problems(b):
    if b"thinvisor-guest: up" not in b.console:
        return ["the guest did not boot from the encrypted disk (console tail: %r)" % b.text()[-600:]]
    return []


def test_encrypted_disk_boots_writes_and_reads_back(work):
    image, keys, pf = prepare(work)
    with open(image, "rb") as f:
        if f.read(1 << 20).find(b"SYSLINUX") >= 0:
            return ["the offline encryption left the boot loader readable"]
    problems = []
    b = Boot(work, image, write_script(work, "w.sh", "ata-write.sh", "SIZE_MB=%d\n" % SIZE_MB))
    log1 = b.finish(500)
    problems += guest_up_problems(b)
    m = re.search(rb"TV-SHA ([0-9a-f]{64})", b.console)
    if not m or b"TV-CHECK ok: written" not in b.console:
        return problems + ["first boot did not write the file (console tail: %r)" % b.text()[-800:]]
    written = m.group(1).decode()
    if b"ide0.0: disk 'QM00001', 512-byte sectors: encrypted" not in log1:
        problems.append("the monitor did not attach the key to QM00001 on the primary channel")
    with open(image, "rb") as f:
        raw = f.read()
    if MARKER in raw:
        problems.append("the plaintext marker is in the raw disk image")
    b = Boot(work, image, write_script(work, "v.sh", "ata-verify.sh"))
    log2 = b.finish(300)
    b.save_console(work)
    con = b.text()
    m = re.search(r"TV-SHA ([0-9a-f]{64})", con)
    if not m or m.group(1) != written:
        problems.append("second boot read %s, first boot wrote %s" % (m.group(1) if m else "nothing", written))
    m = re.search(r"TV-SHA-AFTER ([0-9a-f]{64})", con)
    if not m or m.group(1) != written:
        problems.append("the disk did not work after the refused command")
    if "atacmd: identify serial='QM00001' model='QEMU HARDDISK'" not in con:
        problems.append("IDENTIFY did not pass through (console: %r)" % re.findall(r"atacmd:.*", con))
    if "TV-VPD80 QM00001" not in con:
        problems.append("the kernel's view of the serial (VPD page 80) is not QM00001")
    if "atacmd: security-erase refused" not in con or "TV-ERASE-STATUS 1" not in con:
        problems.append("SECURITY ERASE did not fail cleanly in the guest")
    if not re.search(rb"ide0\.0: refused SECURITY ERASE UNIT \(0xf4\)", log2):
        problems.append("the monitor log does not record the refused SECURITY ERASE UNIT")
    decrypt(image, keys, pf)
    out = os.path.join(work, "data.bin")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-n", "-i", "%s@@%d" % (image, DATA_START * 512), "::/data.bin", out], check=True,
                   env=env)
    with open(out, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != written or not data.startswith(MARKER):
        problems.append("thinvisor-disk decrypt did not recover the file")
    problems += fsck_problems(image)
    return problems


def test_fsynced_files_survive_a_kill(work):
    image, keys, pf = prepare(work)
    b = Boot(work, image, write_script(work, "c.sh", "ata-crash.sh"))
    synced = {}
    end = time.monotonic() + 400
    while len(synced) < 6 and time.monotonic() < end and b.proc.poll() is None:
        b.read_until(b"\0never", 2)
        synced = dict((n.decode(), s.decode())
                      for n, s in re.findall(rb"TV-FSYNCED (f\d+\.bin) ([0-9a-f]{64})", b.console))
    b.sigkill_qemu()  # in the middle of the next file's writes
    b.kill()
    if len(synced) < 3:
        return ["fewer than 3 files were fsync'd before the kill (console tail: %r)" % b.text()[-600:]]
    b = Boot(work, image, write_script(work, "cv.sh", "ata-crash-verify.sh"))
    b.finish(300)
    found = dict((n.decode(), s.decode()) for n, s in re.findall(rb"TV-FILE (f\d+\.bin) ([0-9a-f]{64})", b.console))
    bad = [n for n, s in synced.items() if found.get(n) != s]
    problems = ["fsync'd files lost or damaged after the kill: %s" % ", ".join(sorted(bad))] if bad else []
    decrypt(image, keys, pf)
    return problems + fsck_problems(image)


def test_unlisted_disk_is_refused(work):
    """A config that lists another serial: the disk is Deny, nothing is read or written."""
    image, _, _ = prepare(work)
    with open(os.path.join(work, "other.conf"), "w") as f:
        f.write(CONF.replace("QM00001", "SOMEOTHERDISK"))
    os.rename(os.path.join(work, "other.conf"), os.path.join(work, "thinvisor.conf"))
    with open(image, "rb") as f:
        before = hashlib.sha256(f.read()).hexdigest()
    b = Boot(work, image, None, timeout=120)
    b.read_until(b"\0never", 45)
    log = b.kill()
    problems = []
    if b"thinvisor-guest: up" in b.console:
        problems.append("the guest booted from a disk the config does not list")
    if b"ide0.0: disk 'QM00001', 512-byte sectors: refused" not in log:
        problems.append("the monitor did not mark QM00001 as refused")
    if not re.search(rb"ide0\.0: refused READ SECTORS \(0x20\): the disk has no key", log):
        problems.append("no refused READ SECTORS in the monitor log")
    with open(image, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != before:
            problems.append("the disk image changed")
    return problems


TESTS = [test_encrypted_disk_boots_writes_and_reads_back, test_fsynced_files_survive_a_kill,
         test_unlisted_disk_is_refused]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only")
    args = ap.parse_args()
    for need in (MONITOR, DISK, TOOL):
        if not os.path.exists(need):
            print("FAIL ata_ide: %s is missing (make, make guest, make disk-tool)" % need)
            return 1
    failed = 0
    for t in TESTS:
        name = "ata_ide." + t.__name__[len("test_"):]
        if args.only and args.only not in name:
            continue
        with tempfile.TemporaryDirectory() as work:
            start = time.monotonic()
            try:
                problems = t(work)
            except Exception as e:  # a broken test is a failure, not a crash of the suite
                problems = ["%s: %s" % (type(e).__name__, e)]
            secs = time.monotonic() - start
            if problems:
                failed += 1
                print("FAIL %s: %s [%.0fs]" % (name, "; ".join(problems), secs))
                keep = os.path.join(ROOT, "build", "test-results", name)
                os.makedirs(keep, exist_ok=True)
                for f in ("monitor.log", "console.log"):
                    if os.path.exists(os.path.join(work, f)):
                        shutil.copy(os.path.join(work, f), keep)
            else:
                print("PASS %s [%.0fs]" % (name, secs))
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
