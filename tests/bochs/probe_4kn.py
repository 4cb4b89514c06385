#!/usr/bin/env python3
"""Probe: does Bochs' `sect_size=4096` ATA disk look like a 4Kn disk to Linux?

Not a suite (tests/run_tests.py does not run it): one Bochs boot, 5-10 minutes. It boots the
guest under thinvisor (VT-x backend, no thinvisor.conf, so every disk passes through) with a
second disk, `ata1-master: ... sect_size=4096`, and prints what the guest sees: IDENTIFY words
106 and 117-118 of that disk, /sys/block/*/queue/logical_block_size, and the mediator's line
for it. Exit 0 when Linux sees 4096-byte logical blocks (an encrypted end-to-end 4Kn test
becomes possible), 1 when it does not (Bochs 2.7: word 106 = 0x6000, 512-byte blocks; see
docs/ata.md), 2 when the boot itself failed. Logs in build/test-results/ata_4kn-probe/.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "suites"))
import bochs  # noqa: E402  (the Bochs run, its config and helpers)

NAME = "ata_4kn-probe"
DISK_CYLINDERS = 4  # Bochs' default geometry is 16 heads x 63 sectors: 4 x 16 x 63 x 4096 B = 16.5 MB
GUEST = r"""
for d in /sys/block/sd*; do
    echo "PROBE-LBS $(basename $d) $(cat $d/queue/logical_block_size) $(cat $d/size)"
done
for a in /sys/class/ata_device/*; do
    [ -r $a/id ] && echo "PROBE-ID $(basename $a) $(tr '\n' ' ' < $a/id)"
done
dmesg | grep -E 'logical blocks|sectors, multi' | sed 's/^/PROBE-DMESG /'
echo PROBE-END
sleep 2  # let the serial port drain before /init powers off
"""


def extra_disk(run_config, disk4k):
    """bochs.write_config plus the 4096-byte-sector disk on the secondary channel."""
    def write(run, work, iso, disk, out_dir):
        files = run_config(run, work, iso, disk, out_dir)
        with open(os.path.join(work, "bochsrc.txt"), "a") as f:
            f.write("ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15\n")
            f.write("ata1-master: type=disk, path=%s, mode=flat, sect_size=4096\n" % disk4k)
        return files
    return write


def identify_words(line):
    words = [int(w, 16) for w in line.split()]
    return words[106], words[117] | words[118] << 16


def main():
    missing = bochs.missing_tools()
    if missing:
        print("FAIL %s: missing %s" % (NAME, ", ".join(missing)))
        return 2
    out_dir = os.path.join(bochs.RESULTS, NAME)
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="tv-4kn-probe-")
    r = None
    try:
        iso = bochs.build_iso(tmp, "")
        disk = os.path.join(tmp, "disk.img")
        shutil.copy(bochs.DISK, disk)
        script = os.path.join(tmp, "tvscript.sh")
        with open(script, "w") as f:
            f.write(GUEST)
        env = dict(os.environ, MTOOLS_SKIP_CHECK="1", MTOOLS_NO_VFAT="1")
        subprocess.run(["mcopy", "-o", "-i", disk + "@@1M", script, "::/tvscript.sh"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        disk4k = os.path.join(tmp, "disk4k.img")
        with open(disk4k, "wb") as f:
            f.truncate(DISK_CYLINDERS * 16 * 63 * 4096)
        bochs.write_config = extra_disk(bochs.write_config, disk4k)
        run = bochs.Run(NAME, "corei7_haswell_4770", True, timeout=900)
        r = bochs.run_bochs(run, tmp, iso, disk, r"PROBE-END|Kernel panic - |thinvisor: halted|power-off: exit counts", out_dir)
        shutil.copy(os.path.join(tmp, "bochsrc.txt"), out_dir)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as e:
        print("FAIL %s: %s: %s" % (NAME, type(e).__name__, e))
        return 2
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return judge(r["console"], r["monitor"], r["secs"], out_dir)


def judge(console, monitor, secs, out_dir):
    console = console.replace("\r", "")  # the guest's serial console ends lines with CR LF
    ident = re.search(r"^PROBE-ID dev2\.0 (.*)$", console, re.M)
    if "PROBE-END" not in console or not ident:
        print("FAIL %s: the guest did not report the disk [%.0fs] (logs: %s)" % (NAME, secs, out_dir))
        return 2
    w106, words = identify_words(ident.group(1))
    sizes = dict(re.findall(r"^PROBE-LBS (sd\w+) (\d+) \d+$", console, re.M))
    mediator = re.search(r"^ide-[0-9a-f:.]+-secondary\.0: .*$", monitor, re.M)
    print("%s: IDENTIFY word 106 = %#06x, words 117-118 = %d words; Linux logical block sizes %s; %s [%.0fs]"
          % (NAME, w106, words, sizes, mediator.group(0) if mediator else "no mediator line", secs))
    if "4096" in sizes.values():
        print("PASS %s: Linux sees a 4096-byte logical sector disk" % NAME)
        return 0
    print("FAIL %s: Linux sees no 4096-byte logical sector disk (logs: %s)" % (NAME, out_dir))
    return 1

if __name__ == "__main__":
    sys.exit(main())
