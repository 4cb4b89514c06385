#!/usr/bin/env python3
"""The AHCI mediator with transparent XTS encryption, end to end on QEMU q35 (ICH9 AHCI).

The guest image gets a second FAT partition for data, then the whole image (MBR included) is
encrypted offline with thinvisor-disk; the monitor unlocks the key with the passphrase typed on
COM1; SeaBIOS (its own AHCI driver) and Linux (ahci, NCQ) then boot from and write to the
encrypted disk through the mediator. The tests are shared with the IDE suite (_ata_suite.py).

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks tests.
QEMU 7.2's IDE/AHCI disks only have 512-byte logical sectors (logical_block_size=4096 is
refused: "discard_granularity must be 512 for ide"), so 4096-byte sectors are covered by the
host unit tests (tests/unit/test_ahci_mediator.cpp) only."""
import sys

import _ata_suite as s

CTL = s.Controller("ata_ahci", "q35", "ahci suite passphrase", b"TVAHCIMARKER-plaintext-must-not-reach-the-disk",
                   attached=b"port 0 disk 'QM00001', 512-byte sectors, encrypted",
                   refused_erase=rb"ahci: port 0 slot \d+: refused SECURITY ERASE UNIT \(0xf4\)")
PASSPHRASE = CTL.passphrase


# For tests/bench/ahci_bench.py.
def prepare(work, encrypt=True):
    return s.prepare(CTL, work, encrypt)


def Boot(work, image, script, **kw):  # noqa: N802 (a constructor to its callers)
    return s.Boot(CTL, work, image, script, **kw)


write_script = s.write_script

TESTS = [s.test_encrypted_disk_boots_writes_and_reads_back, s.test_fsynced_files_survive_a_kill]

if __name__ == "__main__":
    sys.exit(s.main(CTL, TESTS))
