#!/usr/bin/env python3
"""Boot-time unlock of disk keys: thinvisor asks for the passphrase on the console (COM1)
before the guest runs, accepts the right one, and refuses to boot after too many wrong ones.

Each test boots QEMU with thinvisor.conf and a keyslot file as multiboot modules, COM1 on a
unix socket (this script types the passphrase) and COM2 (the monitor's log) in a file.
Prints `PASS name` / `FAIL name: why`; exits 1 on any failure."""
import argparse
import hashlib
import os
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
PASSPHRASE = "correct horse battery staple"
GUEST_UP = b"thinvisor-guest: up"
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
[keys]
passphrase_tries = 3
"""


class Boot:
    """One QEMU run with COM1 on a socket we type into."""

    def __init__(self, work, image, timeout=180):
        self.sock_path = os.path.join(work, "com1.sock")
        self.monlog = os.path.join(work, "monitor.log")
        self.console = b""
        script = os.path.join(work, "poweroff.sh")
        with open(script, "w") as f:
            f.write("poweroff -f\n")
        modules = "%s,%s" % (os.path.join(work, "thinvisor.conf"), os.path.join(work, "system.keys"))
        cmd = ["timeout", "-k", "5", str(timeout), "qemu-system-x86_64", "-accel", "tcg", "-machine", "pc",
               "-cpu", "max", "-m", "512M", "-display", "none", "-monitor", "none", "-no-reboot",
               "-nodefaults", "-vga", "std",
               "-chardev", "socket,id=com1,path=%s,server=on,wait=on" % self.sock_path,
               "-serial", "chardev:com1", "-serial", "file:" + self.monlog,
               "-kernel", MONITOR, "-initrd", modules,
               "-drive", "file=%s,format=raw" % image,
               "-fw_cfg", "name=opt/thinvisor/script,file=%s" % script]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.sock_path):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("QEMU did not open its COM1 socket")
            time.sleep(0.1)
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.sock_path)
        self.sock.settimeout(0.5)

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

    def type(self, text):
        self.sock.sendall(text.encode() + b"\r")

    def finish(self, seconds):
        end = time.monotonic() + seconds
        while self.proc.poll() is None and time.monotonic() < end:
            self.read_until(b"\0never", 1)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.sock.close()
        with open(self.monlog, "rb") as f:
            return f.read()


def prepare(work):
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(CONF)
    pf = os.path.join(work, "pass")
    with open(pf, "w") as f:
        f.write(PASSPHRASE)
    # Few iterations: PBKDF2 inside the monitor runs under full emulation.
    subprocess.run([TOOL, "format", os.path.join(work, "system.keys"), "--passphrase-file", pf,
                    "--iterations", "2000", "--quiet"], check=True, stdout=subprocess.DEVNULL)
    image = os.path.join(work, "disk.img")
    shutil.copyfile(DISK, image)
    # The disk mediators decrypt every sector of a configured disk: the image must be encrypted.
    subprocess.run([TOOL, "encrypt", image, "--keyslots", os.path.join(work, "system.keys"),
                    "--passphrase-file", pf, "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return image


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def test_right_passphrase_unlocks_and_boots(work):
    image = prepare(work)
    b = Boot(work, image)
    problems = []
    if not b.read_until(b"passphrase for disk 'system'", 60):
        problems.append("no passphrase prompt on the console")
    b.type(PASSPHRASE)
    if not b.read_until(GUEST_UP, 120):
        problems.append("the guest did not boot after the right passphrase")
    log = b.finish(60)
    if b"keys: disk 'system' unlocked with slot 0" not in log:
        problems.append("monitor.log does not record the unlock")
    if PASSPHRASE.encode() in log or PASSPHRASE.encode() in b.console:
        problems.append("the passphrase was echoed or logged")
    return problems


def test_wrong_passphrases_never_boot_and_leave_the_disk_alone(work):
    image = prepare(work)
    before = sha(image)
    b = Boot(work, image)
    problems = []
    for i in range(3):
        if not b.read_until(b"(%d tries left)" % (3 - i), 60):
            problems.append("no prompt for try %d" % (i + 1))
            break
        b.type("wrong guess %d" % i)
        b.read_until(b"wrong passphrase", 60)
    if not b.read_until(b"too many wrong passphrases for disk 'system'", 60):
        problems.append("no 'too many wrong passphrases' message")
    b.read_until(b"NOT booted", 10)
    time.sleep(2)
    log = b.finish(1)
    if GUEST_UP in b.console:
        problems.append("the guest booted")
    if log.count(b"keys: disk 'system': wrong passphrase") != 3:
        problems.append("monitor.log does not count 3 wrong passphrases")
    if sha(image) != before:
        problems.append("the disk image changed")
    return problems


def test_backspace_edits_the_passphrase(work):
    image = prepare(work)
    b = Boot(work, image)
    b.read_until(b"passphrase for disk 'system'", 60)
    b.sock.sendall(PASSPHRASE.encode() + b"x\x7f\r")  # a typo, then DEL
    problems = [] if b.read_until(GUEST_UP, 120) else ["a corrected typo was not accepted"]
    b.finish(60)
    return problems


def test_corrupt_keyslot_file_is_refused(work):
    image = prepare(work)
    keys = os.path.join(work, "system.keys")
    with open(keys, "r+b") as f:
        f.seek(700)
        byte = f.read(1)
        f.seek(700)
        f.write(bytes([byte[0] ^ 0xFF]))
    b = Boot(work, image, timeout=60)
    problems = []
    if not b.read_until(b"keyslot file 'system.keys' refused", 30):
        problems.append("no refusal of the corrupt keyslot file")
    if b"passphrase for disk" in b.console:
        problems.append("it asked for a passphrase for a corrupt file")
    b.finish(1)
    return problems


TESTS = [test_right_passphrase_unlocks_and_boots, test_wrong_passphrases_never_boot_and_leave_the_disk_alone,
         test_backspace_edits_the_passphrase, test_corrupt_keyslot_file_is_refused]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only")
    args = ap.parse_args()
    failed = 0
    for t in TESTS:
        name = "unlock." + t.__name__[len("test_"):]
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
            print("FAIL %s: %s [%.0fs]" % (name, "; ".join(problems), secs), flush=True)
        else:
            print("PASS %s [%.0fs]" % (name, secs), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
