#!/usr/bin/env python3
"""Encrypted disks with more than one CPU, end to end on QEMU -machine pc -smp 2: an
encrypted IDE disk (PIIX3, the boot disk) and an encrypted AHCI disk (an ich9-ahci added to
the machine) are both busy at once, each driven from its own CPU (taskset, and each
controller's interrupt routed to that CPU), while tools/guest/xmmcheck on each CPU keeps its
own pattern in xmm0-xmm15 and checks it in a loop. The monitor encrypts on both CPUs at
once: each CPU saves the guest's SSE state in its own area (crypto/fpu_guard).

Passes only with no register mismatch, no I/O error and the same checksum read back from
both disks as was written. One boot, a few MiB of I/O. Both disks use one [disk.*] entry
(serial = *), so one passphrase unlocks both.

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks tests."""
import hashlib
import os
import re
import subprocess
import sys

import _ata_suite as s

CTL = s.Controller("ata_smp", "pc", "smp suite passphrase", b"TVSMPMARKER", attached=b"", refused_erase=b"")
AHCI_SECTORS = 16 * 2048  # 16 MiB
ROUNDS, IO_KIB = 3, 1024


def test_two_cpus_encrypt_at_once(ctl, work):
    image, keys, pf = s.prepare(ctl, work)
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(s.CONF.replace("QM00001", "*"))
    ahci = os.path.join(work, "ahci.img")
    with open(ahci, "wb") as f:
        f.truncate(AHCI_SECTORS * 512)
    subprocess.run([s.TOOL, "encrypt", ahci, "--keyslots", keys, "--passphrase-file", pf, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    prefix = "AHCI_SECTORS=%d\nROUNDS=%d\nIO_KIB=%d\n" % (AHCI_SECTORS, ROUNDS, IO_KIB)
    script = s.write_script(work, "smp.sh", "smp-disk-stress.sh", prefix)
    extra = ["-smp", "2", "-device", "ahci,id=ahci0", "-drive", "file=%s,format=raw,if=none,id=d1" % ahci,
             "-device", "ide-hd,drive=d1,bus=ahci0.0"]
    b = s.Boot(ctl, work, image, script, timeout=900, extra=extra)
    log = b.finish(800)
    con = b.text()
    problems = s.guest_up_problems(b)
    problems += re.findall(r"TV-SMP FAIL: [^\r\n]*", con)
    for ok in ("nproc", "xmm", "checksums"):
        if "TV-SMP ok: %s" % ok not in con:
            problems.append("no 'TV-SMP ok: %s'" % ok)
    if not re.search(rb"smp: 2 of 2 processors under the monitor", log):
        problems.append("the monitor does not run on both CPUs")
    if not re.search(rb"ide-00:01\.1-primary\.0: disk 'QM00001', 512-byte sectors: encrypted", log):
        problems.append("the IDE disk is not encrypted")
    if not re.search(rb"port 0 disk '[^']*', 512-byte sectors, encrypted", log):
        problems.append("the AHCI disk is not encrypted")
    # The last round's data on the AHCI disk: ciphertext in the image, the guest's data after
    # the offline tool decrypts it.
    src = re.search(r"TV-SMP src ([0-9a-f]{64})", con)
    with open(ahci, "rb") as f:
        f.seek(ROUNDS * 64 * 1024)
        raw = f.read(IO_KIB * 1024)
    if src and hashlib.sha256(raw).hexdigest() == src.group(1):
        problems.append("the AHCI disk holds the guest's data in plaintext")
    s.decrypt(ahci, keys, pf)
    with open(ahci, "rb") as f:
        f.seek(ROUNDS * 64 * 1024)
        plain = f.read(IO_KIB * 1024)
    if not src or hashlib.sha256(plain).hexdigest() != src.group(1):
        problems.append("thinvisor-disk decrypt did not recover the guest's data from the AHCI disk")
    return problems


TESTS = [test_two_cpus_encrypt_at_once]

if __name__ == "__main__":
    sys.exit(s.main(CTL, TESTS))
