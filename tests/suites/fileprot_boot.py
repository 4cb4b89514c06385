#!/usr/bin/env python3
"""File protection in QEMU (docs/policies.md): one guest boot with an ext4 data disk (made
here with mkfs.ext4 -d) whose policy protects a binary and a configuration file, attacked
with raw block-device writes from the guest; and boots with bad policies, refused with a
clear console line before any guest runs.

Prints `PASS name` or `FAIL name: why` per test; exits non-zero if any failed.
--only PATTERN runs the tests whose name contains it."""
import argparse
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from unlock import Boot, DISK, ROOT  # noqa: E402  (the same QEMU pc run with modules)

TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-policy")
MIB = 1 << 20


def run(*cmd):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True).stdout


def prepare(work, version=3, tamper=False, serial="QM00002", bus="ata"):
    """data.img (ext4, 32 MiB, 4 KiB blocks), system.policy for it as disk bus:serial, and
    thinvisor.conf pinning the key. Returns (image, lba of tool)."""
    root = os.path.join(work, "root")
    os.makedirs(os.path.join(root, "bin"))
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "bin", "tool"), "wb") as f:
        f.write(os.urandom(20000))
    with open(os.path.join(root, "etc", "app.conf"), "w") as f:
        f.write("secure = yes\n")
    for name, text in (("other.conf", "other = 1\n"), ("spare", "spare = 1\n"), ("spare2", "spare = 2\n"),
                       ("motd", "Welcome, the discard rule keeps this text.\n")):
        with open(os.path.join(root, "etc", name), "w") as f:
            f.write(text)
    os.makedirs(os.path.join(root, "var", "log"))
    with open(os.path.join(root, "var", "log", "app.log"), "w") as f:
        f.write("line 1\n" * 300)
    image = os.path.join(work, "data.img")
    with open(image, "wb") as f:
        f.truncate(32 * MIB)
    run("mkfs.ext4", "-q", "-F", "-b", "4096", "-d", root, image)
    key, pub = os.path.join(work, "admin.pem"), os.path.join(work, "admin.pub")
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    run("openssl", "pkey", "-in", key, "-pubout", "-out", pub)
    rules = os.path.join(work, "rules")
    with open(rules, "w") as f:
        f.write("protect /bin/tool\nprotect /etc/app.conf\nappend-only /var/log/app.log\ndiscard /etc/motd\n")
    pol = os.path.join(work, "system.policy")
    run(TOOL, "compile", image, rules, "-k", key, "-o", pol, "--version", version, "--disk-serial", serial,
        "--bus", bus)
    if tamper:
        with open(pol, "r+b") as f:
            f.seek(64 + 8)  # the first range's length
            b = f.read(1)
            f.seek(64 + 8)
            f.write(bytes([b[0] ^ 1]))
    line = run(TOOL, "pubkey", "-p", pub).strip()
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write("[policy]\n%s\nmodule = system.policy\nmin_version = 3\n" % line)
    blocks = [int(b) for b in run("debugfs", "-R", "blocks /bin/tool", image).split()]
    return image, blocks[0] * 8


def file_sha(image, path):
    out = subprocess.run(["debugfs", "-R", "cat " + path, image], check=True, capture_output=True).stdout
    return hashlib.sha256(out).hexdigest()


def file_bytes(image, path):
    return subprocess.run(["debugfs", "-R", "cat " + path, image], check=True, capture_output=True).stdout


BUNDLE = os.path.join(ROOT, "build", "guest", "fileprot.cpio")
DATA_SECTORS = 32 * MIB // 512  # how the guest tells the data disk from the boot disk
BUNDLE_SECTORS = 12 * MIB // 512  # and the disk that brings its tools (fw_cfg took minutes)

# The guest's side of the scenario. The data disk is found by its size: the kernel probes the
# two IDE disks in parallel, so /dev/sda and /dev/sdb change places from boot to boot. Each
# attack through the filesystem gets a fresh mount: after a refused write the guest's page
# cache holds what it wanted to write, not what the disk holds, and the next attack would see
# that. The tools come on a third disk (a cpio of build-fileprot-bundle.sh), found by its
# size: through fw_cfg their 6 MB took the guest more than 5 minutes. One line per attack:
# its exit status and the I/O errors the guest kernel counted on the disk meanwhile (each one
# a command the monitor refused). They are read from the SCSI device's ioerr_cnt: the kernel's
# "I/O error, dev" lines are rate-limited (10 in 5 s), and attacks in quick succession lost
# theirs (chmod and chown showed none in a make test run although the monitor refused them).
GUEST_PRELUDE = r"""
fp=/tmp/fp; mkdir -p $fp
echo "TV-UNPACK $(cut -d' ' -f1 /proc/uptime)"
T=; for d in /sys/block/sd?; do [ "$(cat $d/size)" = %(bundle)d ] && T=/dev/${d##*/}; done
(cd $fp && cpio -id < $T 2>/dev/null)
for m in $(ls $fp/fp/mods | sort); do insmod $fp/fp/mods/$m 2>/dev/null; done
X="$fp/fp/ld.so --library-path $fp/fp/lib"
S=; for d in /sys/block/sd?; do [ "$(cat $d/size)" = %(data)d ] && S=/dev/${d##*/}; done
echo "TV-DISK $S at $(cut -d' ' -f1 /proc/uptime)"
D=/mnt/d; mkdir -p $D
dmesg -n 1; dmesg -c >/dev/null
ioerrs() { echo $(( $(cat /sys/block/${S#/dev/}/device/ioerr_cnt) )); }
E0=$(ioerrs)
report() {
    m=$(dmesg -c | grep -c "I/O error, dev ${S#/dev/}")
    e1=$(ioerrs); e=$((e1 - E0)); E0=$e1
    n=$(thinvisor-ctl policy | sed -n 's/^refused //p')
    echo "TV-ATTACK $1 rc=$2 ioerr=$e refused=${n:-none} logged=$m"
}
fsop() {
    name=$1; shift
    mount -t ext4 $S $D || echo "TV-MOUNT-FAILED $name"
    eval "$*"; r=$?
    sync; umount $D; echo 3 > /proc/sys/vm/drop_caches
    report $name $r
}
"""

GUEST_ATTACKS = r"""
dd if=/dev/zero of=$S bs=4096 seek=%(tool_block)d count=1 oflag=direct 2>/dev/null; report raw-dd $?
$X $fp/fp/bin/debugfs -w -D -R "sif /bin/tool mode 0100777" $S 2>&1 | sed 's/^/TV-DEBUGFS /'; report debugfs-w 0
fsop free 'echo new > $D/etc/new.conf && echo new > $D/bin/newtool && echo "other = 2" >> $D/etc/other.conf && rm $D/etc/spare2 && echo "line 2" >> $D/var/log/app.log'
fsop overwrite 'dd if=/dev/zero of=$D/bin/tool bs=4096 count=1 conv=notrunc,fsync 2>/dev/null'
fsop truncate 'truncate -s 0 $D/etc/app.conf'
fsop rm 'rm $D/bin/tool'
fsop rename-over 'mv $D/etc/spare $D/etc/app.conf'
fsop chmod 'chmod 777 $D/etc/app.conf'
fsop chown 'chown 1:1 $D/bin/tool'
fsop hardlink 'ln $D/bin/tool $D/etc/tool-link'
fsop append-overwrite 'dd if=/dev/zero of=$D/var/log/app.log bs=7 count=1 conv=notrunc,fsync 2>/dev/null'
mount -t ext4 $S $D; echo "TV-MOUNT rc=$?"
sha256sum $D/bin/tool $D/etc/app.conf | sed 's/^/TV-SHA /'
ls $D/etc $D/bin | tr '\n' ' ' | sed 's/^/TV-LS /'; echo
thinvisor-ctl policy | sed 's/^/TV-POLICY /'
# The last attack stays mounted: power-off with a journal that holds the refused change.
rm $D/etc/app.conf; echo "TV-LAST rc=$?"; sync
"""

ATTACKS = ("raw-dd", "debugfs-w", "overwrite", "truncate", "rm", "rename-over", "chmod", "chown", "hardlink",
           "append-overwrite")
MUST_FAIL = ("raw-dd", "overwrite", "append-overwrite")  # the write's own syscall sees the error


def fileprot_boot(work, image, script, machine="pc", timeout=900, usb_serial=None):
    """The guest with the boot disk (a snapshot) and the data disk (serial QM00002) on IDE's
    primary channel (pc) or AHCI ports 0 and 1 (q35), or on a usb-storage stick behind
    qemu-xhci (usb_serial), the policy as a boot module and the guest's tools (ext4, debugfs)
    as a third disk."""
    subprocess.run([os.path.join(ROOT, "tools", "guest", "build-fileprot-bundle.sh")], check=True)
    mods = ",".join(os.path.join(work, m) for m in ("thinvisor.conf", "system.policy"))
    tools = os.path.join(work, "tools.img")  # the bundle as a raw disk of its own size
    with open(BUNDLE, "rb") as src, open(tools, "wb") as dst:
        dst.write(src.read())
        dst.truncate(BUNDLE_SECTORS * 512)
    boot = "file=%s,format=raw,snapshot=on,file.locking=off" % DISK
    data = "file=%s,format=raw" % image
    tools = "file=%s,format=raw,snapshot=on" % tools
    if usb_serial:
        drives = ["-drive", boot + ",if=ide,index=0", "-drive", tools + ",if=ide,index=2",
                  "-device", "qemu-xhci,id=xhci", "-drive", data + ",if=none,id=stick",
                  "-device", "usb-storage,bus=xhci.0,drive=stick,serial=%s" % usb_serial]
    elif machine == "pc":
        drives = ["-drive", boot + ",if=ide,index=0", "-drive", data + ",if=ide,index=1",
                  "-drive", tools + ",if=ide,index=2"]
    else:
        drives = ["-drive", boot + ",if=none,id=d0", "-device", "ide-hd,drive=d0,bus=ide.0",
                  "-drive", data + ",if=none,id=d1", "-device", "ide-hd,drive=d1,bus=ide.1,serial=QM00002",
                  "-drive", tools + ",if=none,id=d2", "-device", "ide-hd,drive=d2,bus=ide.2"]
    return Boot(work, None, timeout=timeout, script_text=script, firmware=[
        "-machine", machine, "-kernel", os.path.join(ROOT, "build", "thinvisor.elf"), "-initrd", mods] + drives)


def persisted_problems(image, before, appended):
    """The protected files as they were, app.log its old bytes plus `appended`, and the
    unprotected changes of the `free` step on the disk."""
    problems = []
    after = {p: file_bytes(image, p) for p in before}
    for p in ("/bin/tool", "/etc/app.conf"):
        if after[p] != before[p]:
            problems.append("%s changed on the disk" % p)
    if after["/var/log/app.log"] != before["/var/log/app.log"] + appended:
        problems.append("app.log is not its old bytes plus the append (%d bytes)" % len(after["/var/log/app.log"]))
    for path, want in (("/etc/new.conf", b"new\n"), ("/bin/newtool", b"new\n"),
                       ("/etc/other.conf", b"other = 1\nother = 2\n")):
        if file_bytes(image, path) != want:
            problems.append("%s did not persist" % path)
    if b"spare2" in subprocess.run(["debugfs", "-R", "ls /etc", image], capture_output=True).stdout:
        problems.append("/etc/spare2 was not deleted")
    return problems


def attack_lines(text):
    """name: (exit status, I/O errors the guest saw, the monitor's refusals so far or -1)."""
    return {m.group(1): (int(m.group(2)), int(m.group(3)), int(m.group(4)) if m.group(4).isdigit() else -1)
            for m in re.finditer(r"TV-ATTACK (\S+) rc=(\d+) ioerr=(\d+) refused=(\S+)", text)}


def test_in_guest_attacks_on_protected_files_are_refused(work):
    """One boot, the attacks of issue 18 from inside an unmodified Linux guest, each refused
    by the monitor; unprotected files in the same directories keep working."""
    image, tool_lba = prepare(work)
    before = {p: file_bytes(image, p) for p in ("/bin/tool", "/etc/app.conf", "/var/log/app.log")}
    script = GUEST_PRELUDE % {"data": DATA_SECTORS, "bundle": BUNDLE_SECTORS} + GUEST_ATTACKS % {"tool_block": tool_lba // 8} + "poweroff -f\n"
    b = fileprot_boot(work, image, script)
    b.read_until(b"thinvisor-guest: power-off", 840)  # 4-6 minutes at a load of 10 on 2 cores
    log = b.finish(30).decode("utf-8", "replace")
    text = b.text()
    problems = []
    if "TV-LAST" not in text:
        problems.append("the guest script did not finish (console tail %r)" % text[-400:])
    seen = attack_lines(text)
    refused = 0  # the monitor's count before each attack, as `thinvisor-ctl policy` reads it
    for name in ATTACKS:
        if name not in seen:
            problems.append("%s: did not run" % name)
            continue
        rc, ioerr, count = seen[name]
        if ioerr == 0:
            problems.append("%s: the guest saw no I/O error (rc %d)" % (name, rc))
        if name in MUST_FAIL and rc == 0:
            problems.append("%s: the write reported success" % name)
        if count <= refused:
            problems.append("%s: the monitor counted no refusal (%d, before %d)" % (name, count, refused))
        refused = max(refused, count)
    if seen.get("free", (1, 1, 0))[:2] != (0, 0):
        problems.append("unprotected files: rc/ioerr %s" % (seen.get("free"),))
    policy = dict(re.findall(r"TV-POLICY (\S+) ([^\r\n]*)", text))
    for key, want in (("version", "3"), ("disk", "ata:QM00002"), ("source", "boot-module")):
        if policy.get(key) != want:
            problems.append("thinvisor-ctl policy: %s is %r, not %r" % (key, policy.get(key), want))
    for path in ("/bin/tool", "/etc/app.conf", "/var/log/app.log"):
        if not re.search(r"TV-POLICY path %s hits [1-9]" % re.escape(path), text):
            problems.append("thinvisor-ctl policy lists no refusal of %s" % path)
    if not re.search(r"TV-POLICY recent policy: disk ata:QM00002 lba \d+: write refused", text):
        problems.append("thinvisor-ctl policy shows no recent refusal")
    if "policy: 'system.policy' version 3 in force for disk ata:QM00002" not in log:
        problems.append("monitor.log lacks the policy in force")
    for path in ("/bin/tool", "/etc/app.conf", "/var/log/app.log"):
        if not re.search(r"policy: disk ata:QM00002 lba \d+: write refused \((protect|append-only) %s\)" % path, log):
            problems.append("monitor.log lacks a refusal line for %s" % path)
    problems += persisted_problems(image, before, b"line 2\n")
    fsck = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    with open(os.path.join(work, "fsck.txt"), "w") as f:
        f.write(fsck.stdout + fsck.stderr)
    print("INFO fileprot_boot: attacks %s; host e2fsck -fn after power-off: rc %d" % (seen, fsck.returncode),
          flush=True)
    # As measured and documented (docs/policies.md, "fsck"): the allocation bitmaps and free
    # counts, which no rule protects, say what the refused deletions wanted; nothing else.
    lines = [l.strip() for l in fsck.stdout.splitlines() if l.strip()]
    fixes = [lines[i - 1] if re.match(r"^\w+\? no$", l) and i else l
             for i, l in enumerate(lines) if re.search(r"\? no$", l)]
    expected = ("Block bitmap differences", "Inode bitmap differences", "Free blocks count wrong",
                "Free inodes count wrong")
    odd = [f for f in fixes if not f.strip().startswith(expected)]
    if odd:
        problems.append("e2fsck -fn finds more than the documented bitmap differences: %s" % odd)
    return problems


# On AHCI the same shared directory and inode-table blocks must still take the unprotected
# changes (the mediator reads the sectors first, drivers/ahci/ahci_protect.cpp), and a write
# to a protected file's data and a metadata change are refused.
GUEST_AHCI = r"""
fsop free 'echo new > $D/etc/new.conf && echo new > $D/bin/newtool && echo "other = 2" >> $D/etc/other.conf && rm $D/etc/spare2 && echo "line 2" >> $D/var/log/app.log'
fsop overwrite 'dd if=/dev/zero of=$D/bin/tool bs=4096 count=1 conv=notrunc,fsync 2>/dev/null'
fsop rm 'rm $D/etc/app.conf'
echo TV-LAST
"""


def test_on_ahci_shared_blocks_take_unprotected_changes_and_attacks_are_refused(work):
    image, _ = prepare(work)
    before = {p: file_bytes(image, p) for p in ("/bin/tool", "/etc/app.conf", "/var/log/app.log")}
    b = fileprot_boot(work, image, GUEST_PRELUDE % {"data": DATA_SECTORS, "bundle": BUNDLE_SECTORS} + GUEST_AHCI + "poweroff -f\n", machine="q35")
    b.read_until(b"thinvisor-guest: power-off", 840)
    log = b.finish(30).decode("utf-8", "replace")
    text = b.text()
    problems = [] if "TV-LAST" in text else ["the guest script did not finish (console tail %r)" % text[-400:]]
    seen = attack_lines(text)
    if seen.get("free", (1, 1, 0))[:2] != (0, 0):
        problems.append("unprotected files: rc/ioerr %s" % (seen.get("free"),))
    for name in ("overwrite", "rm"):
        if seen.get(name, (0, 0, 0))[1] == 0:
            problems.append("%s: the guest saw no I/O error (%s)" % (name, seen.get(name)))
    if seen.get("overwrite", (0,))[0] == 0:
        problems.append("overwrite: the write reported success")
    if not re.search(r"ahci: port 1 slot \d+: refused WRITE .*file-protection policy protects", log):
        problems.append("monitor.log lacks the AHCI refusal")
    if not re.search(r"policy: disk ata:QM00002 lba \d+: write refused \(protect /bin/tool\)", log):
        problems.append("monitor.log lacks the audit line for /bin/tool")
    problems += persisted_problems(image, before, b"line 2\n")
    return problems


# On a stick (issue 18, "CHECK CONDITION / DATA PROTECT for USB"): the USB path judges a write
# at its CBW, with no read of the current sectors (drivers/usb/usb_slot_bot.cpp), so a write
# touching a protected range fails whole with DATA PROTECT; sectors without a range take writes.
USB_WAIT = r"""
for m in xhci_pci usb_storage; do modprobe $m || echo "TV-MODPROBE-FAILED $m"; done
i=0; while [ $i -lt 120 ]; do for d in /sys/block/sd?; do [ "$(cat $d/size)" = %(data)d ] && i=999; done; [ $i = 999 ] || sleep 0.5; i=$((i + 1)); done
"""
GUEST_USB = r"""
dd if=/dev/zero of=$S bs=4096 seek=%(tool_block)d count=1 oflag=direct 2>/dev/null; report raw-dd $?
fsop overwrite 'dd if=/dev/zero of=$D/bin/tool bs=4096 count=1 conv=notrunc,fsync 2>/dev/null'
dd if=/dev/urandom of=$S bs=4096 seek=%(last_block)d count=1 oflag=direct 2>/dev/null; report free-block $?
thinvisor-ctl policy | sed 's/^/TV-POLICY /'
echo TV-LAST
"""
USB_SERIAL = "TVFPUSB1"


def test_on_a_usb_stick_writes_to_protected_files_fail_with_data_protect(work):
    image, tool_lba = prepare(work, serial=USB_SERIAL, bus="usb")
    before = {p: file_bytes(image, p) for p in ("/bin/tool", "/etc/app.conf")}
    script = (USB_WAIT % {"data": DATA_SECTORS} + GUEST_PRELUDE % {"data": DATA_SECTORS, "bundle": BUNDLE_SECTORS}
              + GUEST_USB % {"tool_block": tool_lba // 8, "last_block": DATA_SECTORS // 8 - 1} + "poweroff -f\n")
    b = fileprot_boot(work, image, script, usb_serial=USB_SERIAL)
    b.read_until(b"thinvisor-guest: power-off", 840)
    log = b.finish(30).decode("utf-8", "replace")
    text = b.text()
    problems = [] if "TV-LAST" in text else ["the guest script did not finish (console tail %r)" % text[-400:]]
    if "TV-DISK /dev/sd" not in text:
        problems.append("the guest found no stick of the data disk's size (console tail %r)" % text[-400:])
    seen = attack_lines(text)
    for name in ("raw-dd", "overwrite"):
        rc, ioerr, _ = seen.get(name, (0, 0, 0))
        if rc == 0 or ioerr == 0:
            problems.append("%s: the write was not refused (rc %d, I/O errors %d)" % (name, rc, ioerr))
    if seen.get("free-block", (1, 1, 0))[:2] != (0, 0):
        problems.append("a block no rule covers: rc/ioerr %s" % (seen.get("free-block"),))
    if not re.search(r"mass-storage command: WRITE\(10\) \(sense 07/27/00\)", log):
        problems.append("monitor.log lacks the USB refusal with DATA PROTECT")
    if not re.search(r"policy: disk usb:%s lba \d+: write refused \(protect /bin/tool\)" % USB_SERIAL, log):
        problems.append("monitor.log lacks the audit line for /bin/tool on usb:%s" % USB_SERIAL)
    policy = dict(re.findall(r"TV-POLICY (\S+) ([^\r\n]*)", text))
    if policy.get("disk") != "usb:" + USB_SERIAL:
        problems.append("thinvisor-ctl policy: disk is %r, not usb:%s" % (policy.get("disk"), USB_SERIAL))
    for p in before:
        if file_bytes(image, p) != before[p]:
            problems.append("%s changed on the stick" % p)
    return problems


# The journal and the discard action across a reboot (issue 18, "Journaling"), on AHCI (the
# fastest boot). Boot 1: an in-place write of the discard file (the guest is told it
# succeeded); a refused rm under errors=remount-ro; then a protected inode's change and an
# unprotected file, committed (sync) and left mounted at power-off, the journal holding them.
# Boot 2 mounts the same disk (the journal is replayed now, under the monitor) and reads.
GUEST_JOURNAL_1 = r"""
fsop discard 'dd if=/dev/zero of=$D/etc/motd bs=16 count=1 conv=notrunc,fsync 2>/dev/null'
mount -t ext4 $S $D; echo "TV-MOTD $(head -c 16 $D/etc/motd | od -An -tx1 | tr -d ' ')"; umount $D
echo 3 > /proc/sys/vm/drop_caches
mount -t ext4 -o errors=remount-ro $S $D; rm $D/etc/app.conf; echo "TV-RM rc=$?"; sync; sleep 6; touch $D/etc/probe
echo "TV-RO $(grep " $D " /proc/mounts | cut -d' ' -f4 | cut -d, -f1)"
dmesg | grep -E "EXT4-fs|JBD2|I/O error" | head -6 | sed 's/^/TV-DMESG1 /'; umount $D; echo 3 > /proc/sys/vm/drop_caches
mount -t ext4 $S $D; chmod 600 $D/bin/tool; echo kept > $D/etc/late.conf; sync; echo TV-LAST
"""
GUEST_JOURNAL_2 = r"""
dmesg -c >/dev/null
mount -t ext4 $S $D; echo "TV-MOUNT2 rc=$?"
dmesg -c | grep -E "EXT4-fs|JBD2|I/O error" | head -8 | sed 's/^/TV-DMESG2 /'
if ! grep -q " $D " /proc/mounts; then
    $X $fp/fp/bin/e2fsck -fy $S > /tmp/fsck.out 2>&1; echo "TV-FSCK2 rc=$?"
    grep -v "^$" /tmp/fsck.out | tail -4 | sed 's/^/TV-FSCKOUT /'
    dmesg -c | grep -E "I/O error" | head -2 | sed 's/^/TV-DMESG2F /'
    mount -t ext4 $S $D; echo "TV-MOUNT2B rc=$?"
fi
sha256sum $D/bin/tool $D/etc/app.conf | sed 's/^/TV-SHA2 /'
echo "TV-MODE2 $(stat -c %a $D/bin/tool)"
echo "TV-MOTD2 $(head -c 16 $D/etc/motd | od -An -tx1 | tr -d ' ')"
ls $D/etc | tr '\n' ' ' | sed 's/^/TV-LS2 /'; echo
umount $D; echo "TV-UMOUNT2 rc=$?"; echo TV-LAST
"""


def test_on_ahci_discard_remount_ro_and_the_journal_across_a_reboot(work):
    image, _ = prepare(work)
    before = {p: file_bytes(image, p) for p in ("/bin/tool", "/etc/app.conf", "/etc/motd")}
    motd_block = int(run("debugfs", "-R", "blocks /etc/motd", image).split()[0])
    prelude = GUEST_PRELUDE % {"data": DATA_SECTORS, "bundle": BUNDLE_SECTORS}
    problems, texts = [], []
    for n, body in ((1, GUEST_JOURNAL_1), (2, GUEST_JOURNAL_2)):
        boot_dir = os.path.join(work, "boot%d" % n)
        os.makedirs(boot_dir)
        for m in ("thinvisor.conf", "system.policy"):
            os.link(os.path.join(work, m), os.path.join(boot_dir, m))
        b = fileprot_boot(boot_dir, image, prelude + body + "poweroff -f\n", machine="q35")
        b.read_until(b"thinvisor-guest: power-off", 840)
        log = b.finish(30).decode("utf-8", "replace")
        text = b.text()
        texts.append(text)
        if "TV-LAST" not in text:
            problems.append("boot %d: the guest script did not finish (console tail %r)" % (n, text[-400:]))
        if n == 1:
            seen = attack_lines(text)
            if seen.get("discard", (1, 1, 0))[:2] != (0, 0):
                problems.append("discard: the guest was not told the write succeeded (rc/ioerr %s)" % (seen.get("discard"),))
            if not re.search(r"policy: disk ata:QM00002 lba \d+: write discarded \(discard /etc/motd\)", log):
                problems.append("monitor.log lacks the discard line for /etc/motd")
    one, two = texts[0], texts[-1]
    # What is guaranteed, and checked: the protected bytes are intact on the disk after both
    # boots (the discard file's data block compared raw: its inode, whose checksum ext4 updated
    # while the monitor put the protected bytes back, no longer passes ext4's check; see
    # docs/policies.md). The rest is measured and printed for docs/policies.md.
    for p in ("/bin/tool", "/etc/app.conf"):
        if file_bytes(image, p) != before[p]:
            problems.append("%s changed on the disk" % p)
        # After the reboot, as the guest reads it (through the fsck the journal made necessary).
        if not re.search(r"TV-SHA2 %s\s+/mnt/d%s" % (hashlib.sha256(before[p]).hexdigest(), re.escape(p)), two):
            problems.append("boot 2: the guest does not read %s with its old sha256" % p)
    with open(image, "rb") as f:
        f.seek(motd_block * 4096)
        if f.read(len(before["/etc/motd"])) != before["/etc/motd"]:
            problems.append("/etc/motd's data block changed on the disk")
    fsck = subprocess.run(["e2fsck", "-fn", image], capture_output=True, text=True)
    with open(os.path.join(work, "fsck.txt"), "w") as f:
        f.write(fsck.stdout + fsck.stderr)
    print("INFO fileprot_boot journal: boot 1 %s; boot 2 %s; host e2fsck -fn rc %d" % (
        re.findall(r"TV-(?:MOTD|RM|RO|DMESG1) [^\r\n]*", one),
        re.findall(r"TV-(?:MOUNT2|DMESG2|FSCK2|FSCKOUT|DMESG2F|MOUNT2B|SHA2|MODE2|MOTD2|LS2) [^\r\n]*", two),
        fsck.returncode), flush=True)
    return problems


def refused_boot(work, want):
    # The shared guest disk, read-only and unlocked: make test runs other suites on it at the
    # same time, and QEMU's image lock would stop this boot before the monitor ran.
    b = Boot(work, DISK, timeout=60, modules=("system.policy",),
             drives=["file=%s,format=raw,snapshot=on,file.locking=off" % DISK])
    problems = []
    if not b.read_until(want, 40):
        problems.append("no refusal line %r (console tail %r)" % (want, b.text()[-300:]))
    if b"thinvisor-guest: up" in b.console:
        problems.append("the guest booted with a refused policy")
    b.finish(1)
    return problems


def test_tampered_policy_stops_the_boot(work):
    prepare(work, tamper=True)
    return refused_boot(work, b"thinvisor: policy 'system.policy' refused: bad signature")


def test_policy_older_than_min_version_stops_the_boot(work):
    prepare(work, version=2)
    return refused_boot(work, b"thinvisor: policy 'system.policy' refused: older than [policy] min_version")


TESTS = [test_in_guest_attacks_on_protected_files_are_refused,
         test_on_ahci_shared_blocks_take_unprotected_changes_and_attacks_are_refused,
         test_on_ahci_discard_remount_ro_and_the_journal_across_a_reboot,
         test_on_a_usb_stick_writes_to_protected_files_fail_with_data_protect, test_tampered_policy_stops_the_boot,
         test_policy_older_than_min_version_stops_the_boot]


class keep_dir:
    def __init__(self, parent, name):
        self.path = tempfile.mkdtemp(prefix="fp-", dir=parent)  # a UNIX socket path stays short

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    failed = 0
    for t in TESTS:
        name = "fileprot_boot." + t.__name__[len("test_"):]
        if args.only and args.only not in name:
            continue
        keep = os.environ.get("FILEPROT_KEEP")  # a directory: the runs' files stay there
        with tempfile.TemporaryDirectory() if not keep else keep_dir(keep, name) as work:
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
