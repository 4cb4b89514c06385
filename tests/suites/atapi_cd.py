#!/usr/bin/env python3
"""ATAPI under the IDE mediator, end to end on QEMU -machine pc: an ide-cd on the PIIX
secondary channel's master (where `pc` puts its default CD-ROM) holding an ISO 9660 image
built here with xorriso. The guest (Linux ata_piix + sr_mod) mounts it under the monitor,
reads a marker file and checksums a 3 MiB file (ATAPI DMA through the PRD shadow), then
tries to burn one block with WRITE(10) through SG_IO, ten times, which the monitor refuses
with DATA PROTECT / WRITE PROTECTED (QEMU's own drive would answer ILLEGAL REQUEST) and logs
four times, then counts: one summary line at power-off says 10 (the log rate limit).

The config is `[ide] cd_write = deny` and nothing else: the hard disk (unencrypted, not
listed) passes through. Prints `PASS name` / `FAIL name: why`; exits 1 on any failure."""
import hashlib
import os
import re
import shutil
import subprocess
import sys

import _ata_suite as s

CTL = s.Controller("atapi_cd", "pc", "", b"", attached=b"", refused_erase=b"")
MARKER = "TVCDMARKER-read-through-the-ide-mediator"


def make_iso(work):
    src = os.path.join(work, "cdroot")
    os.makedirs(src)
    with open(os.path.join(src, "marker.txt"), "w") as f:
        f.write(MARKER + "\n")
    big = os.urandom(3 << 20)
    with open(os.path.join(src, "big.bin"), "wb") as f:
        f.write(big)
    iso = os.path.join(work, "cd.iso")
    subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-V", "TVCD", "-o", iso, src], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return iso, hashlib.sha256(big).hexdigest()


def test_cd_mounts_and_burning_is_refused(ctl, work):
    iso, want_sha = make_iso(work)
    with open(iso, "rb") as f:
        iso_before = hashlib.sha256(f.read()).hexdigest()
    image = os.path.join(work, "disk.img")
    shutil.copyfile(s.DISK, image)
    conf = os.path.join(work, "thinvisor.conf")
    with open(conf, "w") as f:
        f.write("[ide]\ncd_write = deny\n")
    script = s.write_script(work, "cd.sh", "cd-read.sh")
    extra = ["-drive", "file=%s,format=raw,if=none,id=cd0,media=cdrom,readonly=on" % iso,
             "-device", "ide-cd,drive=cd0,bus=ide.1,unit=0", "-initrd", conf]
    b = s.Boot(ctl, work, image, script, timeout=420, conf=False, extra=extra)
    log = b.finish(360)
    con = b.text()
    problems = s.guest_up_problems(b)
    if "TV-CD-MARKER " + MARKER not in con:
        problems.append("the guest did not read the marker from the CD (console: %r)"
                        % re.findall(r"TV-.*|.*sr0.*|ata2.*", con)[-12:])
    m = re.search(r"TV-CD-SHA ([0-9a-f]{64})", con)
    if not m or m.group(1) != want_sha:
        problems.append("the CD's big file read back as %s, not %s" % (m.group(1) if m else "nothing", want_sha))
    if "TV-CD-AGAIN " + MARKER not in con:
        problems.append("the drive did not read after the refused write")
    m = re.search(r"atacmd: cd-write10 (\w+).*", con)
    if not m or m.group(1) != "refused":
        problems.append("WRITE(10) was not refused in the guest (%r)" % (m.group(0) if m else None))
    elif "sense key 0x7 asc 0x27" not in m.group(0):
        problems.append("the refusal's sense is not DATA PROTECT / WRITE PROTECTED (%r)" % m.group(0))
    # Ten burn attempts: the log rate limit (core/log_limit) keeps the first four lines and
    # one summary line at power-off with the count.
    lines = re.findall(rb"^ide-00:01\.1-secondary\.0: refused WRITE\(10\) \(0x2a\): writes media.*$", log, re.M)
    if not lines:
        problems.append("the monitor log does not record the refused WRITE(10)")
    elif len(lines) != 4:
        problems.append("%d refused WRITE(10) lines in the monitor log, want the rate limit's 4" % len(lines))
    if not re.search(rb"log: ide-00:01\.1-secondary\.0: refused WRITE\(10\) \(0x2a\).*: 10 times, 6 not logged", log):
        problems.append("no rate-limit summary with 10 refused WRITE(10): %r"
                        % re.findall(rb"^log: .*$", log, re.M)[:3])
    if re.search(rb"refused PACKET", log):
        problems.append("the monitor refused PACKET itself: %r" % re.findall(rb".*refused PACKET.*", log)[:2])
    if not re.search(rb"ide-00:01\.1-secondary\.0: packet device", log):
        problems.append("the monitor did not find the packet device on the secondary channel")
    if "lost interrupt" in con:
        problems.append("the guest's driver lost an interrupt: %r" % re.findall(r".*lost interrupt.*", con)[:2])
    with open(iso, "rb") as f:
        if hashlib.sha256(f.read()).hexdigest() != iso_before:
            problems.append("the CD image changed")
    return problems


TESTS = [test_cd_mounts_and_burning_is_refused]

if __name__ == "__main__":
    sys.exit(s.main(CTL, TESTS))
