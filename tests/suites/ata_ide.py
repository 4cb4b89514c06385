#!/usr/bin/env python3
"""The IDE mediator with transparent XTS encryption, end to end on QEMU -machine pc (PIIX3
IDE): SeaBIOS boots the guest through PIO reads, Linux's ata_piix reads and writes with
bus-master DMA, all through thinvisor's IDE mediator.

The guest image gets a second FAT partition for data (the boot partition has too little
room), then the whole image (MBR included) is encrypted offline with thinvisor-disk; the
monitor unlocks the key with the passphrase typed on COM1. The tests shared with the AHCI
suite are in _ata_suite.py; the refusal of a disk the config does not list is IDE's own.

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks tests.
QEMU 7.2 refuses logical_block_size=4096 for IDE disks, so 4096-byte sectors are covered by
the host unit tests (tests/unit/test_ide_*.cpp) only."""
import hashlib
import os
import re
import sys

import _ata_suite as s

CTL = s.Controller("ata_ide", "pc", "ide suite passphrase", b"TVIDEMARKER-plaintext-must-not-reach-the-disk",
                   attached=b"ide-00:01.1-primary.0: disk 'QM00001', 512-byte sectors: encrypted",
                   refused_erase=rb"ide-00:01\.1-primary\.0: refused SECURITY ERASE UNIT \(0xf4\)")
PASSPHRASE = CTL.passphrase


# For tests/bench/ata_bench.py.
def prepare(work, encrypt=True):
    return s.prepare(CTL, work, encrypt)


def Boot(work, image, script, **kw):  # noqa: N802 (a constructor to its callers)
    return s.Boot(CTL, work, image, script, **kw)


write_script = s.write_script


def test_unlisted_disk_is_refused(ctl, work):
    """A config that lists another serial: the disk is Deny, nothing is read or written."""
    image, _, _ = s.prepare(ctl, work)
    with open(os.path.join(work, "thinvisor.conf"), "w") as f:
        f.write(s.CONF.replace("QM00001", "SOMEOTHERDISK"))
    with open(image, "rb") as f:
        before = hashlib.sha256(f.read()).hexdigest()
    b = s.Boot(ctl, work, image, None, timeout=120)
    b.read_until(b"\0never", 45)
    log = b.kill()
    problems = []
    if b"thinvisor-guest: up" in b.console:
        problems.append("the guest booted from a disk the config does not list")
    if b"ide-00:01.1-primary.0: disk 'QM00001', 512-byte sectors: refused" not in log:
        problems.append("the monitor did not mark QM00001 as refused")
    if not re.search(rb"ide-00:01\.1-primary\.0: refused READ SECTORS \(0x20\): the disk has no key", log):
        problems.append("no refused READ SECTORS in the monitor log")
    with open(image, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != before:
            problems.append("the disk image changed")
    return problems


TESTS = [s.test_encrypted_disk_boots_writes_and_reads_back, s.test_fsynced_files_survive_a_kill,
         test_unlisted_disk_is_refused]

if __name__ == "__main__":
    sys.exit(s.main(CTL, TESTS))
