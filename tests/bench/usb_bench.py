#!/usr/bin/env python3
"""Sequential throughput of a USB stick through the xHCI mediator (run by tests/bench/bench.py),
or the EHCI one with --hc usb-ehci (by hand: metrics named usb_ehci_*).

QEMU pc (TCG, -cpu max, 512 MiB), the demo guest on IDE, a qemu-xhci with a 128 MiB
usb-storage stick the guest writes and then reads with dd, O_DIRECT, 1 MiB requests. Two
configurations, on the same stick:
  encrypted  thinvisor, the stick enrolled (`[disk.stick] bus = usb`): XTS on every sector in
             the mediator's bounce (docs/usb.md)
  dmcrypt    no thinvisor, the guest's own dm-crypt aes-xts-plain64 (512-bit key, 512-byte
             sectors) on the stick (benchlib.dmcrypt_peer): encrypted's peer
Each runs TV_BENCH_RUNS times (bench.py --runs), interleaved; the median is recorded, with
the VM exits per MiB of the thinvisor run (thinvisor-ctl counters before and after each dd).
Appends JSON lines to build/bench/results.jsonl."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _ata_suite as ata  # noqa: E402

TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
DISK = os.path.join(ROOT, "build", "guest", "disk.img")
PASSPHRASE = "usb bench passphrase"
CTL = ata.Controller("usb_bench", "pc", PASSPHRASE, b"", "", "")
CONF = """[disk.stick]
bus = usb
serial = TVUSBBENCH
keyslots = stick.keys
"""
BENCH_RE = re.compile(rb"TV-BENCH (write|read) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)")
# The guest's side: the stick found by its USB path, optionally mapped by dm-crypt, then
# the same two dd runs as the ATA benches, with the exit counters around each.
SCRIPT = r"""
for m in $HCD usb_storage; do modprobe $m; done
name=; i=0
while [ $i -lt 120 ] && [ -z "$name" ]; do
    for b in /sys/block/sd*; do case "$(readlink -f $b)" in *usb*) name=${b##*/} ;; esac; done
    [ -z "$name" ] && sleep 0.5; i=$((i + 1))
done
[ -n "$name" ] || { echo "TV-BENCH FAIL no stick"; exit 1; }
dev=/dev/$name
if [ -n "$DMCRYPT" ]; then
    dev=$(dmcrypt_setup $name)
    [ -b "$dev" ] || { echo "TV-BENCH FAIL dm-crypt setup"; exit 1; }
fi
exits() { thinvisor-ctl counters 2>/dev/null | awk '$1 !~ /^(hidden-access|io-passthrough|io-emulated)$/ && $1 !~ /\./ { s += $NF } END { print s + 0 }'; }
now() { awk '{ print $1 }' /proc/uptime; }
echo "TV-BENCH-QUEUE $name max_sectors_kb=$(cat /sys/block/$name/queue/max_sectors_kb)"
sync
# Every counter around each run too: where the exits come from (TV-BENCH-BY lines).
cdump() { thinvisor-ctl counters > $1 2>/dev/null || : > $1; }
bydiff() { awk -v k=$1 'NR == FNR { a[$1] = $NF; next } $NF - a[$1] > 0 { print "TV-BENCH-BY", k, $1, $NF - a[$1] }' $2 $3; }
cdump /tmp/c0; e0=$(exits); t0=$(now)
dd if=/dev/zero of=$dev bs=1M count=$MB oflag=direct 2>/dev/null || echo "TV-BENCH FAIL write"
t1=$(now); e1=$(exits); cdump /tmp/c1
dd if=$dev of=/dev/null bs=1M count=$MB iflag=direct 2>/dev/null || echo "TV-BENCH FAIL read"
t2=$(now); e2=$(exits); cdump /tmp/c2
bydiff write /tmp/c0 /tmp/c1
bydiff read /tmp/c1 /tmp/c2
echo "TV-BENCH write $MB $t0 $t1 $e0 $e1"
echo "TV-BENCH read $MB $t1 $t2 $e1 $e2"
"""


def run(work, mode, mb, hc="qemu-xhci"):
    """{'write': (MB/s, exits/MiB), 'read': ...} for one configuration."""
    image = os.path.join(work, "disk.img")
    shutil.copyfile(DISK, image)
    stick = os.path.join(work, "stick.img")
    with open(stick, "wb") as f:
        f.truncate(128 << 20)
    peer_args, prefix = bl.dmcrypt_peer() if mode == "dmcrypt" else ([], "")
    script = os.path.join(work, "b.sh")
    with open(script, "w") as f:
        f.write("MB=%d\nHCD=%s\n" % (mb, "ehci_pci" if "ehci" in hc else "xhci_pci") + prefix + SCRIPT)
    extra = peer_args + ["-device", "%s,id=hc" % hc, "-drive", "file=%s,format=raw,if=none,id=stick" % stick,
                         "-device", "usb-storage,bus=hc.0,drive=stick,serial=TVUSBBENCH"]
    if mode == "encrypted":
        pf = os.path.join(work, "pass")
        with open(pf, "w") as f:
            f.write(PASSPHRASE)
        keys = os.path.join(work, "stick.keys")
        subprocess.run([TOOL, "format", keys, "--passphrase-file", pf, "--iterations", "2000", "--quiet"], check=True,
                       stdout=subprocess.DEVNULL)
        with open(os.path.join(work, "thinvisor.conf"), "w") as f:
            f.write(CONF)
        extra += ["-initrd", "%s,%s" % (os.path.join(work, "thinvisor.conf"), keys)]
    b = ata.Boot(CTL, work, image, script, timeout=600, conf=False, monitor=mode == "encrypted", extra=extra)
    if mode == "encrypted":
        if not b.read_until(b"passphrase for disk 'stick'", 120):
            b.kill()
            raise RuntimeError("no passphrase prompt for the stick")
        b.type(PASSPHRASE)
    b.finish(500)
    out = {}
    for kind, n, t0, t1, e0, e1 in BENCH_RE.findall(b.console):
        secs = float(t1) - float(t0)
        out[kind.decode()] = (int(n) / secs if secs > 0 else 0.0, (int(e1) - int(e0)) / int(n))
    for q in re.findall(rb"TV-BENCH-(?:QUEUE|DMCRYPT) .*", b.console):
        print("usb %s: %s" % (mode, q.decode().strip()))
    by = {}
    for kind, name, n in re.findall(rb"TV-BENCH-BY (write|read) (\S+) (\d+)", b.console):
        by.setdefault(kind.decode(), []).append((int(n) / mb, name.decode()))
    for kind, rows in sorted(by.items()):  # the counters that moved most, per MiB
        print("usb %s %s per MiB: %s" % (mode, kind, ", ".join("%s %.1f" % (nm, v) for v, nm in sorted(rows)[::-1][:12])))
    if len(out) != 2:
        raise RuntimeError("%s run gave no numbers (console tail %r)" % (mode, b.text()[-500:]))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=2 if bl.smoke() else 64)
    ap.add_argument("--modes", default="encrypted" if bl.smoke() else "dmcrypt,encrypted",
                    help="comma-separated subset of dmcrypt,encrypted (dmcrypt is encrypted's peer)")
    ap.add_argument("--runs", type=int, default=bl.disk_runs(), help="runs per configuration (median recorded)")
    ap.add_argument("--hc", default="qemu-xhci", help="the controller: qemu-xhci (bench.py) or usb-ehci")
    args = ap.parse_args()
    name = "usb_ehci" if "ehci" in args.hc else "usb"
    runs = {}
    for _ in range(args.runs):  # interleaved, so load changes hit both configurations alike
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory() as work:
                runs.setdefault(mode, []).append(run(work, mode, args.mb, args.hc))
    res = {m: {k: tuple(statistics.median(o[k][i] for o in outs) for i in range(2)) for k in ("write", "read")}
           for m, outs in runs.items()}
    at = dict(machine="pc", cpu="max", vendor="amd")
    for kind in ("write", "read"):
        dmc = res["dmcrypt"][kind][0] if "dmcrypt" in res else 0.0
        if "encrypted" not in res:
            continue
        v, exits = res["encrypted"][kind]
        samples = [round(o[kind][0], 2) for o in runs["encrypted"]]
        bl.record("%s_seq_%s_encrypted_MBps" % (name, kind), round(v, 2), "MB/s",
                  peer="same guest without thinvisor, dm-crypt aes-xts-plain64" if dmc else None,
                  peer_value=round(dmc, 2) if dmc else None, goal=bl.goal("ratio", ">=", 0.9),
                  runs=len(runs["encrypted"]), samples=samples, extra={"mb": args.mb}, **at)
        bl.record("%s_seq_%s_encrypted_exits_per_MiB" % (name, kind), round(exits, 2), "exits/MiB",
                  runs=len(runs["encrypted"]), extra={"mb": args.mb}, **at)
        print("%s %-5s encrypted %7.2f MB/s (dm-crypt %7.2f, ratio %.2f)  %6.2f exits/MiB"
              % (name, kind, v, dmc, v / dmc if dmc else 0, exits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
