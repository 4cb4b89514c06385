#!/usr/bin/env python3
"""The AHCI mediator with transparent XTS encryption, end to end on QEMU q35 (ICH9 AHCI).

The whole guest disk image (MBR included) is encrypted offline with thinvisor-disk; the
monitor unlocks the key with the passphrase typed on COM1; SeaBIOS (its own AHCI driver) and
Linux (ahci, NCQ) then boot from and write to the encrypted disk through the mediator.

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks tests.
QEMU 7.2's IDE/AHCI disks only have 512-byte logical sectors (logical_block_size=4096 is
refused: "discard_granularity must be 512 for ide"), so 4096-byte sectors are covered by the
host unit tests (tests/unit/test_ahci_mediator.cpp) only."""
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
PASSPHRASE = "ahci suite passphrase"
MARKER = b"TVAHCIMARKER-plaintext-must-not-reach-the-disk"
SIZE_MB = 32  # the FAT partition of the 64 MiB guest disk has about 54 MB free
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
"""


LAST_CONSOLE = [b""]


class Boot:
    """One QEMU q35 run: COM1 on a socket (passphrase in, guest console out), COM2 in a file."""

    def __init__(self, work, image, script, timeout=300, conf=True, monitor=True, extra=()):
        self.sock_path = os.path.join(work, "com1.sock")
        self.monlog = os.path.join(work, "monitor.log")
        self.console = b""
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        cmd = ["timeout", "-k", "5", str(timeout), "qemu-system-x86_64", "-accel", "tcg", "-machine", "q35",
               "-cpu", "max", "-m", "512M", "-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
               "-vga", "std", "-chardev", "socket,id=com1,path=%s,server=on,wait=on" % self.sock_path,
               "-serial", "chardev:com1", "-serial", "file:" + self.monlog,
               "-drive", "file=%s,format=raw,if=none,id=d0" % image, "-device", "ide-hd,drive=d0,bus=ide.0",
               "-fw_cfg", "name=opt/thinvisor/script,file=%s" % script] + list(extra)
        if monitor:
            cmd += ["-kernel", MONITOR]
            if conf:
                cmd += ["-initrd", "%s,%s" % (os.path.join(work, "thinvisor.conf"), os.path.join(work, "system.keys"))]
        self.qemu_err = os.path.join(work, "qemu.err")
        with open(self.qemu_err, "wb") as err:
            # Own process group: a SIGKILL must reach QEMU itself, not only `timeout`.
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock_path):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("QEMU did not open its COM1 socket")
            time.sleep(0.1)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.sock_path)
        self.sock.settimeout(0.5)
        if monitor and conf:
            if not self.read_until(b"passphrase for disk 'system'", 120):
                with open(self.qemu_err, "rb") as f:
                    raise RuntimeError("no passphrase prompt (QEMU %s, stderr %r, console %r)"
                                       % (self.proc.poll(), f.read()[-300:], self.console[-300:]))
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

    def sigkill(self):
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass

    def kill(self):
        self.sigkill()
        self.proc.wait()
        LAST_CONSOLE[0] = self.console
        self.sock.close()
        with open(self.monlog, "rb") as f:
            return f.read()

    def text(self):
        return self.console.decode("utf-8", "replace")


def write_script(work, name, body_file, prefix=""):
    path = os.path.join(work, name)
    with open(os.path.join(GUEST, body_file)) as src, open(path, "w") as f:
        f.write(prefix + src.read())
    return path


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
    if encrypt:
        subprocess.run([TOOL, "encrypt", image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
    return image, keys, pf


def sha_of(data):
    return hashlib.sha256(data).hexdigest()


def guest_up_problems(b, log):
    if b"thinvisor-guest: up" not in b.console:
        tail = b.text()[-600:]
        return ["the guest did not boot from the encrypted disk (console tail: %r)" % tail]
    return []


def test_encrypted_disk_boots_writes_and_reads_back(work):
    image, keys, pf = prepare(work)
    with open(image, "rb") as f:
        if f.read(1 << 20).find(b"SYSLINUX") >= 0:
            return ["the offline encryption left the boot loader readable"]
    problems = []
    b = Boot(work, image, write_script(work, "w.sh", "ahci-write.sh", "SIZE_MB=%d\n" % SIZE_MB))
    log1 = b.finish(400)
    problems += guest_up_problems(b, log1)
    m = re.search(rb"TV-SHA ([0-9a-f]{64})", b.console)
    if not m or b"TV-CHECK ok: written" not in b.console:
        return problems + ["first boot did not write the file (console tail: %r)" % b.text()[-800:]]
    written = m.group(1).decode()
    with open(image, "rb") as f:
        raw = f.read()
    if MARKER in raw:
        problems.append("the plaintext marker is in the raw disk image")
    b = Boot(work, image, write_script(work, "v.sh", "ahci-verify.sh"))
    log2 = b.finish(300)
    con = b.text()
    m = re.search(r"TV-SHA ([0-9a-f]{64})", con)
    if not m or m.group(1) != written:
        problems.append("second boot read %s, first boot wrote %s" % (m.group(1) if m else "nothing", written))
    m = re.search(r"TV-SHA-AFTER ([0-9a-f]{64})", con)
    if not m or m.group(1) != written:
        problems.append("the disk did not work after the refused command")
    if "atacmd: identify serial='QM00001' model='QEMU HARDDISK'" not in con:
        problems.append("IDENTIFY did not pass through (console: %r)" % re.findall(r"atacmd:.*", con))
    if not re.search(r"TV-VPD80 .*QM00001", con):
        problems.append("the kernel's view of the serial (VPD page 80) is not QM00001")
    # (kernel error-handling messages may interleave with atacmd's own line on the console)
    if "TV-ERASE-STATUS 1" not in con or "security-erase COMPLETED" in con:
        problems.append("SECURITY ERASE did not fail cleanly in the guest")
    if not re.search(rb"ahci: port 0 slot \d+: refused SECURITY ERASE UNIT \(0xf4\)", log2):
        problems.append("the monitor log does not record the refused SECURITY ERASE UNIT")
    # The index-data pair in I/O BAR4 reaches the same registers: it must show the guest's view.
    m = re.search(r"atacmd: idp-clb (0x[0-9a-f]+|0)", con)
    region = re.search(rb"monitor region (0x[0-9a-f]+)-(0x[0-9a-f]+)", log2)
    if not m or not region or int(m.group(1), 16) == 0:
        problems.append("no PxCLB read through the index-data pair")
    elif int(region.group(1), 16) <= int(m.group(1), 16) < int(region.group(2), 16):
        problems.append("the index-data pair shows the monitor's shadow command list")
    if b"port 0 disk 'QM00001', 512-byte sectors, encrypted" not in log2:
        problems.append("the monitor did not attach the key to QM00001")
    # The offline tool recovers the plaintext: the same XTS, sector for sector.
    subprocess.run([TOOL, "decrypt", image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(work, "data.bin")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-n", "-i", image + "@@1M", "::/data.bin", out], check=True, env=env)
    with open(out, "rb") as f:
        data = f.read()
    if sha_of(data) != written or not data.startswith(MARKER):
        problems.append("thinvisor-disk decrypt did not recover the file")
    return problems


def test_fsynced_files_survive_a_kill(work):
    image, _, _ = prepare(work)
    b = Boot(work, image, write_script(work, "c.sh", "ahci-crash.sh"))
    synced = {}
    end = time.monotonic() + 400
    while len(synced) < 6 and time.monotonic() < end and b.proc.poll() is None:
        b.read_until(b"\0never", 2)
        synced = dict((n.decode(), s.decode()) for n, s in re.findall(rb"TV-FSYNCED (f\d+\.bin) ([0-9a-f]{64})", b.console))
    b.kill()  # SIGKILL to QEMU in the middle of the next file's writes
    if len(synced) < 3:
        return ["fewer than 3 files were fsync'd before the kill (console tail: %r)" % b.text()[-600:]]
    b = Boot(work, image, write_script(work, "cv.sh", "ahci-crash-verify.sh"))
    b.finish(300)
    found = dict((n.decode(), s.decode()) for n, s in re.findall(rb"TV-FILE (f\d+\.bin) ([0-9a-f]{64})", b.console))
    bad = [n for n, s in synced.items() if found.get(n) != s]
    return ["fsync'd files lost or damaged after the kill: %s" % ", ".join(sorted(bad))] if bad else []


TESTS = [test_encrypted_disk_boots_writes_and_reads_back, test_fsynced_files_survive_a_kill]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only")
    args = ap.parse_args()
    for need in (MONITOR, DISK, TOOL):
        if not os.path.exists(need):
            print("FAIL ata_ahci: %s is missing (make, make guest, make disk-tool)" % need)
            return 1
    failed = 0
    for t in TESTS:
        name = "ata_ahci." + t.__name__[len("test_"):]
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
                with open(os.path.join(keep, "console.log"), "wb") as f:
                    f.write(LAST_CONSOLE[0])
                for f in ("monitor.log",):
                    if os.path.exists(os.path.join(work, f)):
                        shutil.copy(os.path.join(work, f), keep)
            else:
                print("PASS %s [%.0fs]" % (name, secs))
            sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
