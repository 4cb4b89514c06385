#!/usr/bin/env python3
"""Boot-time unlock of disk keys: thinvisor asks for the passphrase on the console (COM1)
before the guest runs, accepts the right one, and refuses to boot after too many wrong ones.

Each test boots QEMU with thinvisor.conf and a keyslot file as multiboot modules, COM1 on a
unix socket (this script types the passphrase) and COM2 (the monitor's log) in a file. The
configuration beyond one disk shares those boots: the right-passphrase run has two [disk.*]
sections with a keyslot file each, boots the system disk on the secondary master as BIOS
drive 0x81 (`boot=0x81`) and reads the data disk on the primary master; the wrong-passphrase
run sets a non-default `passphrase_tries`.
Prints `PASS name` / `FAIL name: why`; exits 1 on any failure."""
import argparse
import hashlib
import mmap
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from _qemu_console import QemuConsole, hmp_socket

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MONITOR = os.path.join(ROOT, "build", "thinvisor.elf")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
INSTALL_EFI = os.path.join(ROOT, "tools", "thinvisor-install-efi")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
PASSPHRASE = "correct horse battery staple"
GUEST_UP = b"thinvisor-guest: up"
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
[keys]
passphrase_tries = 3
"""


class Boot(QemuConsole):
    """One QEMU pc run with thinvisor.conf and the keyslot file as modules; the test types."""

    def __init__(self, work, image, timeout=180, hmp=False, script_text="poweroff -f\n", drives=None,
                 modules=("system.keys",), append=None, firmware=None):
        """hmp: QEMU's human monitor on a socket too (self.hmp()), for keys and memory reads.
        drives: QEMU -drive option strings (default: image as the primary master); modules:
        keyslot files in work, loaded after thinvisor.conf; append: the monitor's command line.
        firmware: QEMU arguments that boot the loader from its own disk instead (UEFI); the
        modules then come from that disk, and `image` is None."""
        script = os.path.join(work, "guest.sh")
        with open(script, "w") as f:
            f.write(script_text)
        modules = ",".join(os.path.join(work, m) for m in ("thinvisor.conf",) + tuple(modules))
        monitor = "unix:%s,server=on,wait=off" % hmp_socket(work) if hmp else "none"
        boot = firmware
        if not boot:
            boot = ["-machine", "pc", "-kernel", MONITOR, "-initrd", modules]
            for d in drives or ["file=%s,format=raw" % image]:
                boot += ["-drive", d]
            boot += ["-append", append] if append else []
        super().__init__(work, ["-accel", "tcg", "-cpu", "max", "-m", "512M", "-display", "none",
                                "-monitor", monitor, "-no-reboot", "-nodefaults", "-vga", "std"] + boot +
                         ["-fw_cfg", "name=opt/thinvisor/script,file=%s" % script], timeout)

    def finish(self, seconds):
        self.wait_exit(seconds)
        return self.kill()


def make_keys(work, conf=CONF):
    """thinvisor.conf and system.keys in work; returns the passphrase file."""
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(conf)
    pf = os.path.join(work, "pass")
    with open(pf, "w") as f:
        f.write(PASSPHRASE)
    # Few iterations: PBKDF2 inside the monitor runs under full emulation.
    subprocess.run([TOOL, "format", os.path.join(work, "system.keys"), "--passphrase-file", pf,
                    "--iterations", "2000", "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return pf


def prepare(work):
    pf = make_keys(work)
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


DATA_PASSPHRASE = "a second disk has its own passphrase"
DATA_MARKER = b"TVDATADISK-plaintext-marker-on-the-primary-master"
# Two [disk.*] sections: the boot disk on the secondary master (BIOS drive 0x81, QEMU serial
# QM00003), a data disk with its own keyslot file on the primary master (QM00001).
TWO_DISKS_CONF = """[disk.data]
serial = QM00001
keyslots = data.keys
[disk.system]
serial = QM00003
keyslots = system.keys
"""


def prepare_data_disk(work):
    """data.keys and a 4 MiB data.img holding DATA_MARKER at sector 0, encrypted with it."""
    pf = os.path.join(work, "data.pass")
    with open(pf, "w") as f:
        f.write(DATA_PASSPHRASE)
    keys = os.path.join(work, "data.keys")
    subprocess.run([TOOL, "format", keys, "--passphrase-file", pf, "--iterations", "2000", "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    image = os.path.join(work, "data.img")
    with open(image, "wb") as f:
        f.write(DATA_MARKER + b"\n")
        f.truncate(4 << 20)
    subprocess.run([TOOL, "encrypt", image, "--keyslots", keys, "--passphrase-file", pf, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    return image


def test_right_passphrases_unlock_two_disks_and_boot_from_0x81(work):
    """Both disks' prompts answered; the guest boots from BIOS drive 0x81 (boot=0x81), the
    system disk on the secondary channel, and reads the data disk's marker decrypted."""
    image = prepare(work)
    data = prepare_data_disk(work)
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(TWO_DISKS_CONF)
    # The data disk by its place (primary master: SCSI 0:0:0:0), not as sda: Linux probes the two
    # channels in parallel, and in one make test run the system disk on the secondary became sda.
    script = ("D=/dev/$(ls /sys/class/scsi_disk/0:0:0:0/device/block/)\n"
              "dd if=$D bs=%d count=1 2>/dev/null | sed 's/^/TV-DATA /'\npoweroff -f\n" % len(DATA_MARKER))
    b = Boot(work, image, timeout=240, script_text=script, modules=("data.keys", "system.keys"), append="boot=0x81",
             drives=["file=%s,format=raw,if=ide,index=0" % data, "file=%s,format=raw,if=ide,index=2" % image])
    problems = []
    answered = set()
    for _ in range(2):  # in the order thinvisor.conf lists the disks; answer whichever comes
        name, end = None, time.monotonic() + 60
        while name is None and time.monotonic() < end:
            name = next((n for n in ("data", "system")
                         if n not in answered and b"passphrase for disk '%s'" % n.encode() in b.console), None)
            if name is None:
                b.read_until(b"\0never", 1)
        if name is None:
            problems.append("no passphrase prompt after %s" % (sorted(answered) or "none"))
            break
        b.type(DATA_PASSPHRASE if name == "data" else PASSPHRASE)
        answered.add(name)
    if not b.read_until(GUEST_UP, 150):
        problems.append("the guest did not boot from drive 0x81 after the right passphrases")
    b.read_until(b"thinvisor-guest: power-off", 60)
    log = b.finish(60)
    for disk in ("data", "system"):
        if b"keys: disk '%s' unlocked with slot 0" % disk.encode() not in log:
            problems.append("monitor.log does not record the unlock of '%s'" % disk)
    for line in (b"ide-00:01.1-primary.0: disk 'QM00001', 512-byte sectors: encrypted",
                 b"ide-00:01.1-secondary.0: disk 'QM00003', 512-byte sectors: encrypted"):
        if line not in log:
            problems.append("monitor.log lacks %r" % line.decode())
    if b"TV-DATA " + DATA_MARKER not in b.console:
        problems.append("the guest did not read the data disk's marker (console tail %r)" % b.text()[-300:])
    with open(data, "rb") as f:
        if DATA_MARKER in f.read():
            problems.append("the data disk's marker is in plaintext in its raw image")
    for p in (PASSPHRASE, DATA_PASSPHRASE):
        if p.encode() in log or p.encode() in b.console:
            problems.append("a passphrase was echoed or logged")
    return problems


def test_wrong_passphrases_never_boot_and_leave_the_disk_alone(work):
    """With passphrase_tries = 2 (not the default 3): two wrong tries, then the refusal."""
    image = prepare(work)
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(CONF.replace("passphrase_tries = 3", "passphrase_tries = 2"))
    before = sha(image)
    b = Boot(work, image)
    problems = []
    for i in range(2):
        if not b.read_until(b"(%d tries left)" % (2 - i), 60):
            problems.append("no prompt for try %d of 2" % (i + 1))
            break
        b.type("wrong guess %d" % i)
        b.read_until(b"wrong passphrase", 60)
    if not b.read_until(b"too many wrong passphrases for disk 'system'", 60):
        problems.append("no 'too many wrong passphrases' message after 2 tries")
    if b"(3 tries left)" in b.console:
        problems.append("the monitor offered the default 3 tries, not passphrase_tries = 2")
    b.read_until(b"NOT booted", 10)
    time.sleep(2)
    log = b.finish(1)
    if GUEST_UP in b.console:
        problems.append("the guest booted")
    if log.count(b"keys: disk 'system': wrong passphrase") != 2:
        problems.append("monitor.log does not count 2 wrong passphrases")
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


# HMP sendkey names for the characters of PASSPHRASE.
KEY_NAMES = dict([(c, c) for c in "abcdefghijklmnopqrstuvwxyz0123456789"] + [(" ", "spc")])


def module_marks(work):
    """What a module original would give away: the keyslot file's header (its magic and this
    file's random UUID: the magic alone is also in the monitor's image) and its first slot
    (salt, wrapped key), and a line only the test's thinvisor.conf holds."""
    with open(os.path.join(work, "system.keys"), "rb") as f:
        keys = f.read()
    return [keys[:64], keys[512:576], b"passphrase_tries = 3"]


def monitor_region(monlog):
    """(base, end) of the monitor's region from its log, or None."""
    m = re.search(rb"thinvisor: monitor region (0x[0-9a-f]+)-(0x[0-9a-f]+)", monlog)
    return (int(m.group(1), 16), int(m.group(2), 16)) if m else None


def module_originals(monlog):
    """[(name, address, bytes)] of the boot modules as the monitor's log names them."""
    return [(n.decode(), int(a, 16), int(l)) for n, l, a in
            re.findall(rb"boot: module '([^']*)' \((\d+) bytes\) at (0x[0-9a-f]+)", monlog)]


def leaks_in_guest_ram(b, ram_bytes, ranges=None):
    """Dumps guest-physical memory through QEMU's monitor while the monitor waits at its
    prompt, and returns where module_marks() are found outside the monitor's own region: all of
    RAM, or only `ranges` [(start, length)]."""
    with open(b.monlog, "rb") as f:
        region = monitor_region(f.read())
    if region is None:
        return ["monitor.log names no monitor region"]
    found = []
    marks = module_marks(b.work)
    for start, length in ranges or [(0, ram_bytes)]:
        dump = os.path.join(b.work, "ram.bin")
        b.hmp("pmemsave %#x %#x \"%s\"" % (start, length, dump))
        with open(dump, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as ram:
            for i, mark in enumerate(marks):
                at = ram.find(mark)
                while at >= 0:
                    if not region[0] <= start + at < region[1]:
                        found.append("%s in guest RAM at %#x" % (["keyslot header", "keyslot slot 0",
                                                                  "thinvisor.conf"][i], start + at))
                        break
                    at = ram.find(mark, at + 1)
        os.unlink(dump)
    return found


def test_ps2_keyboard_and_vga_text_prompt(work):
    """The same prompt on the machine's own screen and keyboard: the text appears in VGA text
    memory, and the passphrase typed on the PS/2 keyboard (QEMU sendkey) unlocks the disk."""
    image = prepare(work)
    b = Boot(work, image, hmp=True)
    problems = []
    if not b.read_until(b"passphrase for disk 'system'", 60):
        problems.append("no passphrase prompt")
    # The monitor writes each piece to COM1 before the screen: the serial line can show the
    # prompt a moment before VGA memory does.
    deadline = time.monotonic() + 15
    screen = b.vga_text()
    while "passphrase for disk 'system'" not in screen and time.monotonic() < deadline:
        time.sleep(0.5)
        screen = b.vga_text()
    if "passphrase for disk 'system'" not in screen:
        problems.append("the prompt is not on the VGA text screen (%r)" % screen.strip()[-200:])
    # The modules are copied by now; their originals (where the loader put them) must be gone.
    problems += leaks_in_guest_ram(b, 512 << 20)
    for c in PASSPHRASE:
        b.hmp("sendkey %s" % KEY_NAMES[c])
    time.sleep(1)
    if PASSPHRASE.split()[0] in b.vga_text():
        problems.append("the passphrase is echoed on the screen")
    b.hmp("sendkey ret")
    if not b.read_until(GUEST_UP, 120):
        problems.append("the guest did not boot after the passphrase typed on the PS/2 keyboard")
    log = b.finish(60)
    if b"keys: disk 'system' unlocked with slot 0" not in log:
        problems.append("monitor.log does not record the unlock")
    return problems


def test_uefi_module_originals_are_wiped(work):
    """Under UEFI the loader reads the modules into pool memory the next OS takes as free RAM:
    once the monitor has its copies (it asks for the passphrase after that), those buffers
    hold nothing of thinvisor.conf or the keyslot file. Only the buffers themselves are
    checked: the firmware's own file-system caches are outside thinvisor (docs/security.md)."""
    make_keys(work, CONF.replace("QM00001", "NOSUCHDISK"))  # no disk has the serial: the ESP stays readable
    conf = os.path.join(work, "thinvisor.conf")
    esp = os.path.join(work, "esp.img")
    r = subprocess.run([sys.executable, INSTALL_EFI, "--esp", esp, "--create-image", "64", "--module", conf,
                        "--module", os.path.join(work, "system.keys")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        return ["thinvisor-install-efi failed: %s" % r.stdout.strip()[-300:]]
    vars_copy = os.path.join(work, "OVMF_VARS.fd")
    shutil.copyfile(OVMF_VARS, vars_copy)
    b = Boot(work, None, timeout=150, hmp=True, firmware=[
        "-machine", "q35", "-drive", "if=pflash,format=raw,readonly=on,file=%s" % OVMF_CODE,
        "-drive", "if=pflash,format=raw,file=%s" % vars_copy,
        "-drive", "id=esp,file=%s,format=raw,if=none,snapshot=on" % esp, "-device", "ide-hd,drive=esp,bootindex=0"])
    problems = []
    if not b.read_until(b"passphrase for disk 'system'", 120):
        problems.append("no passphrase prompt")
    else:
        with open(b.monlog, "rb") as f:
            mods = module_originals(f.read())
        if len(mods) != 2:
            problems.append("monitor.log names %d module originals, not 2" % len(mods))
        problems += leaks_in_guest_ram(b, 512 << 20, [(at, n) for _, at, n in mods])
        b.type(PASSPHRASE)
        if not b.read_until(b"thinvisor: monitor running at", 60):
            problems.append("the loader did not go on after the unlock")
    b.finish(1)
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


TESTS = [test_right_passphrases_unlock_two_disks_and_boot_from_0x81,
         test_wrong_passphrases_never_boot_and_leave_the_disk_alone, test_backspace_edits_the_passphrase,
         test_ps2_keyboard_and_vga_text_prompt, test_corrupt_keyslot_file_is_refused,
         test_uefi_module_originals_are_wiped]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="tests whose name contains one of these (comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    args = ap.parse_args()
    only = [p for p in (args.only or "").split(",") if p]
    failed = 0
    for t in TESTS:
        name = "unlock." + t.__name__[len("test_"):]
        if args.list:
            print(name)
            continue
        if only and not any(p in name for p in only):
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
