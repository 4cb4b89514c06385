"""What the ata_ide (IDE, QEMU pc) and ata_ahci (AHCI, QEMU q35) suites share: the QEMU run
with COM1 on a socket, the encrypted guest image with a data partition, the offline tool, the
checks on the raw image, and the tests themselves, which differ only in the controller's
machine and the monitor's log lines. The benches (tests/bench/ata_bench.py, ahci_bench.py)
use the same pieces through the two suite modules."""
import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from _qemu_console import QemuConsole

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# TV_MONITOR_ELF: another build (a bench of one commit while the tree is rebuilt), as _netlib.
MONITOR = os.environ.get("TV_MONITOR_ELF") or os.path.join(ROOT, "build", "thinvisor.elf")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
GUEST = os.path.join(ROOT, "tests", "qemu", "guest")
SIZE_MB = 64  # the file the guest writes (issue: 64 MiB of random data)
DATA_START = 131072  # sector of the data partition, right after the 64 MiB boot image
DATA_MB = 96
PART = "/dev/sda2"
# Behind the data partition: sectors outside every partition where the guest writes raw,
# with two plaintext ranges (docs/storage.md): one whose last sector starts a page, and a
# one-sector range. The guest's direct writes start on each range's last sector and one
# spans encrypted, plaintext and encrypted sectors.
PLAIN_BASE = DATA_START + DATA_MB * 2048
PLAIN_SECTORS = 48
PLAIN_RANGES = ((5, 16), (32, 32))  # offsets from PLAIN_BASE, inclusive
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
""" + "".join("plaintext = %d-%d\n" % (PLAIN_BASE + a, PLAIN_BASE + b) for a, b in PLAIN_RANGES)


class Controller:
    """What differs between the two suites."""

    def __init__(self, name, machine, passphrase, marker, attached, refused_erase):
        self.name = name                    # suite name: ata_ide / ata_ahci
        self.machine = machine              # QEMU machine
        self.passphrase = passphrase
        self.marker = marker                # bytes written in front of the random data
        self.attached = attached            # monitor log line: the key attached to QM00001
        self.refused_erase = refused_erase  # monitor log regex: SECURITY ERASE refused
        self.kind = "ahci" if machine == "q35" else "ide"


class Boot(QemuConsole):
    """One QEMU run of the controller's machine with the guest disk on its first port.
    conf: True for thinvisor.conf + system.keys as modules (the prompt is answered), or
    False/None for none (a caller may pass its own -initrd in extra)."""

    def __init__(self, ctl, work, image, script, timeout=300, conf=True, extra=(), monitor=True):
        args = ["-accel", "tcg", "-machine", ctl.machine, "-cpu", "max", "-m", "512M", "-display", "none",
                "-monitor", "none", "-no-reboot", "-nodefaults", "-vga", "std",
                "-drive", "file=%s,format=raw,if=none,id=d0" % image, "-device", "ide-hd,drive=d0,bus=ide.0,unit=0"]
        # monitor: True for this tree's build, a path for another ELF (make bench's before run)
        args += list(extra) + (["-kernel", monitor if isinstance(monitor, str) else MONITOR] if monitor else [])
        if script:
            args += ["-fw_cfg", "name=opt/thinvisor/script,file=%s" % script]
        if conf and monitor:
            args += ["-initrd", "%s,%s" % (os.path.join(work, "thinvisor.conf"), os.path.join(work, "system.keys"))]
        super().__init__(work, args, timeout)
        if conf and monitor:
            if not self.read_until(b"passphrase for disk 'system'", 120):
                err = self.stderr_tail()
                self.kill()
                raise RuntimeError("no passphrase prompt (stderr %r, console %r)" % (err, self.console[-300:]))
            self.type(ctl.passphrase)

    def finish(self, seconds):
        self.read_until(b"thinvisor-guest: power-off", seconds)
        self.wait_exit(30)
        return self.kill()


def write_script(work, name, body_file, prefix=""):
    path = os.path.join(work, name)
    with open(os.path.join(GUEST, body_file)) as src, open(path, "w") as f:
        f.write(prefix + src.read())
    return path


def add_data_partition(image):
    """A second FAT partition after the boot image, for the big files."""
    with open(image, "r+b") as f:
        f.truncate((PLAIN_BASE + PLAIN_SECTORS + 16) * 512)
    subprocess.run(["sfdisk", "--append", "--no-reread", "--no-tell-kernel", "-q", image],
                   input=b"start=%d, size=%d, type=e\n" % (DATA_START, DATA_MB * 2048), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["mkfs.fat", "-F", "16", "-n", "TVDATA", "--offset=%d" % DATA_START, image, str(DATA_MB * 1024)],
                   check=True, stdout=subprocess.DEVNULL)


def prepare(ctl, work, encrypt=True):
    """thinvisor.conf, a keyslot file and a copy of the guest disk with a data partition,
    encrypted whole (MBR included) unless encrypt is False."""
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(CONF)
    pf = os.path.join(work, "pass")
    with open(pf, "w") as f:
        f.write(ctl.passphrase)
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


def guest_script(ctl, work, name, body_file):
    prefix = "PART=%s\nMARKER='%s'\nSIZE_MB=%d\nCONTROLLER=%s\nPLAIN_BASE=%d\n" % (
        PART, ctl.marker.decode(), SIZE_MB, ctl.kind, PLAIN_BASE)
    return write_script(work, name, body_file, prefix)


def plaintext_range_problems(con, raw):
    """The guest's raw sectors behind the data partition (disk-write.sh): read back intact
    through the monitor, and in the image exactly the plaintext ranges hold them as written."""
    if b"TV-PLAIN ok" not in con:
        return ["the guest's writes around the plaintext ranges did not read back (console: %r)"
                % re.findall(rb"TV-PLAIN.*", con)]
    problems = []
    for i in range(PLAIN_SECTORS):
        sector = raw[(PLAIN_BASE + i) * 512:(PLAIN_BASE + i + 1) * 512]
        want = (b"TVPLAIN-%03d" % i).ljust(512, b"\0")
        plain = any(a <= i <= b for a, b in PLAIN_RANGES)
        if plain and sector != want:
            problems.append("sector %d of a plaintext range is not the guest's plaintext" % (PLAIN_BASE + i))
        if not plain and b"TVPLAIN" in sector:
            problems.append("sector %d outside the plaintext ranges holds plaintext" % (PLAIN_BASE + i))
    return problems


def guest_up_problems(b):
    if b"thinvisor-guest: up" not in b.console:
        return ["the guest did not boot from the encrypted disk (console tail: %r)" % b.text()[-600:]]
    return []


# ---------------------------------------------------------------- the tests


def test_encrypted_disk_boots_writes_and_reads_back(ctl, work):
    image, keys, pf = prepare(ctl, work)
    with open(image, "rb") as f:
        if f.read(1 << 20).find(b"SYSLINUX") >= 0:
            return ["the offline encryption left the boot loader readable"]
    problems = []
    b = Boot(ctl, work, image, guest_script(ctl, work, "w.sh", "disk-write.sh"))
    log1 = b.finish(600)
    problems += guest_up_problems(b)
    m = re.search(rb"TV-SHA ([0-9a-f]{64})", b.console)
    if not m or b"TV-CHECK ok: written" not in b.console:
        return problems + ["first boot did not write the file (console tail: %r)" % b.text()[-800:]]
    written = m.group(1).decode()
    if ctl.attached not in log1:
        problems.append("the monitor did not attach the key to QM00001 (%r)" % ctl.attached)
    with open(image, "rb") as f:
        raw = f.read()
    if ctl.marker in raw:
        problems.append("the plaintext marker is in the raw disk image")
    problems += plaintext_range_problems(b.console, raw)
    b = Boot(ctl, work, image, guest_script(ctl, work, "v.sh", "disk-verify.sh"))
    log2 = b.finish(400)
    con = b.text()
    m = re.search(r"TV-SHA ([0-9a-f]{64})", con)
    if not m or m.group(1) != written:
        problems.append("second boot read %s, first boot wrote %s" % (m.group(1) if m else "nothing", written))
    m = re.search(r"TV-SHA-AFTER ([0-9a-f]{64})", con)
    if not m or m.group(1) != written:
        problems.append("the disk did not work after the refused command")
    if "atacmd: identify serial='QM00001' model='QEMU HARDDISK'" not in con:
        problems.append("IDENTIFY did not pass through (console: %r)" % re.findall(r"atacmd:.*", con))
    if not re.search(r"TV-VPD80 \S*QM00001", con):
        problems.append("the kernel's view of the serial (VPD page 80) is not QM00001")
    # (kernel error-handling messages may interleave with atacmd's own line on the console)
    if "TV-ERASE-STATUS 1" not in con or "security-erase COMPLETED" in con:
        problems.append("SECURITY ERASE did not fail cleanly in the guest")
    if not re.search(ctl.refused_erase, log2):
        problems.append("the monitor log does not record the refused SECURITY ERASE UNIT")
    if ctl.kind == "ahci":
        # The index-data pair in I/O BAR4 reaches the same registers: it must show the guest's view.
        m = re.search(r"atacmd: idp-clb (0x[0-9a-f]+|0)", con)
        region = re.search(rb"monitor region (0x[0-9a-f]+)-(0x[0-9a-f]+)", log2)
        if not m or not region or int(m.group(1), 16) == 0:
            problems.append("no PxCLB read through the index-data pair")
        elif int(region.group(1), 16) <= int(m.group(1), 16) < int(region.group(2), 16):
            problems.append("the index-data pair shows the monitor's shadow command list")
    # The offline tool recovers the plaintext: the same XTS, sector for sector.
    decrypt(image, keys, pf)
    out = os.path.join(work, "data.bin")
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    subprocess.run(["mcopy", "-n", "-i", "%s@@%d" % (image, DATA_START * 512), "::/data.bin", out], check=True,
                   env=env)
    with open(out, "rb") as f:
        data = f.read()
    if hashlib.sha256(data).hexdigest() != written or not data.startswith(ctl.marker):
        problems.append("thinvisor-disk decrypt did not recover the file")
    if len(data) < SIZE_MB << 20:
        problems.append("the recovered file has %d bytes, fewer than %d MiB" % (len(data), SIZE_MB))
    problems += fsck_problems(image)
    return problems


def test_fsynced_files_survive_a_kill(ctl, work):
    image, keys, pf = prepare(ctl, work)
    b = Boot(ctl, work, image, guest_script(ctl, work, "c.sh", "disk-crash.sh"))
    synced = {}
    end = time.monotonic() + 400
    while len(synced) < 6 and time.monotonic() < end and b.proc.poll() is None:
        b.read_until(b"\0never", 2)
        synced = dict((n.decode(), s.decode())
                      for n, s in re.findall(rb"TV-FSYNCED (f\d+\.bin) ([0-9a-f]{64})", b.console))
    b.kill()  # SIGKILL to QEMU in the middle of the next file's writes
    if len(synced) < 3:
        return ["fewer than 3 files were fsync'd before the kill (console tail: %r)" % b.text()[-600:]]
    b = Boot(ctl, work, image, guest_script(ctl, work, "cv.sh", "disk-crash-verify.sh"))
    b.finish(300)
    found = dict((n.decode(), s.decode()) for n, s in re.findall(rb"TV-FILE (f\d+\.bin) ([0-9a-f]{64})", b.console))
    bad = [n for n, s in synced.items() if found.get(n) != s]
    problems = ["fsync'd files lost or damaged after the kill: %s" % ", ".join(sorted(bad))] if bad else []
    decrypt(image, keys, pf)
    return problems + fsck_problems(image)


def main(ctl, tests):
    """Runs `tests` (functions of (ctl, work) returning a list of problems) as one suite."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="tests whose name contains one of these (comma-separated)")
    ap.add_argument("--list", action="store_true", help="list the tests and exit")
    args = ap.parse_args()
    only = [p for p in (args.only or "").split(",") if p]
    for need in (MONITOR, DISK, TOOL):
        if not os.path.exists(need):
            print("FAIL %s: %s is missing (make, make guest, make disk-tool)" % (ctl.name, need))
            return 1
    failed = 0
    for t in tests:
        name = "%s.%s" % (ctl.name, t.__name__[len("test_"):])
        if args.list:
            print(name)
            continue
        if only and not any(p in name for p in only):
            continue
        with tempfile.TemporaryDirectory() as work:
            start = time.monotonic()
            try:
                problems = t(ctl, work)
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
