#!/usr/bin/env python3
"""Sequential disk throughput through the IDE mediator (run by tests/bench/bench.py).

QEMU pc (PIIX3 IDE, ata_piix with bus-master DMA, TCG, -cpu max, 512 MiB), a second 128 MiB
raw disk as the secondary channel's master that the guest writes and then reads with dd,
O_DIRECT, 1 MiB requests. Four configurations:
  encrypted  thinvisor, the scratch disk listed in thinvisor.conf (bounce buffer + XTS)
  plain      thinvisor without thinvisor.conf (PRD tables shadowed and validated, the device
             reaches the guest's buffers directly; no bounce, no XTS)
  bare       no thinvisor (plain's peer)
  dmcrypt    no thinvisor, the guest's own dm-crypt aes-xts-plain64 (512-bit key, 512-byte
             sectors) on the same disk (encrypted's peer, benchlib.dmcrypt_peer)
Each configuration runs TV_BENCH_RUNS times (bench.py --runs), interleaved; the median is
recorded, and the VM exits per MiB in the two thinvisor runs (thinvisor-ctl counters before and after).
Appends JSON lines to build/bench/results.jsonl."""
import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import ata_ide  # noqa: E402

BENCH_RE = re.compile(rb"TV-BENCH (write|read) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+)")
REQUESTS_RE = re.compile(rb"TV-BENCH-REQUESTS (\S+) (\d+) (\d+)")
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
[disk.scratch]
serial = TVSCRATCH
keyslots = scratch.keys
"""



def run(work, mode, mb, elf=None):
    """{'write': (MB/s, exits per MiB), 'read': ...} for one configuration (elf: another
    monitor binary, make bench's before run)."""
    image, keys, pf = ata_ide.prepare(work, encrypt=(mode == "encrypted"))
    scratch = os.path.join(work, "scratch.img")
    with open(scratch, "wb") as f:
        f.truncate(128 << 20)
    if mode == "encrypted":
        shutil.copyfile(keys, os.path.join(work, "scratch.keys"))
        with open(os.path.join(work, "bench.conf"), "w") as f:
            f.write(CONF)
    peer_args, prefix = bl.dmcrypt_peer() if mode == "dmcrypt" else ([], "")
    script = ata_ide.write_script(work, "b.sh", "ata-bench.sh", "MB=%d\n" % mb + prefix)
    extra = peer_args + ["-drive", "file=%s,format=raw,if=none,id=d1" % scratch,
             "-device", "ide-hd,drive=d1,bus=ide.1,unit=0,serial=TVSCRATCH"]
    if mode == "encrypted":
        modules = ",".join(os.path.join(work, n) for n in ("bench.conf", "system.keys", "scratch.keys"))
        # the module's file name must be thinvisor.conf
        os.rename(os.path.join(work, "bench.conf"), os.path.join(work, "thinvisor.conf"))
        modules = modules.replace("bench.conf", "thinvisor.conf")
        extra += ["-initrd", modules]
    b = ata_ide.Boot(work, image, script, timeout=900, conf=None, extra=extra, monitor=elf or (mode not in ("bare", "dmcrypt")))
    if mode == "encrypted":
        for disk in (b"system", b"scratch"):
            if not b.read_until(b"passphrase for disk '" + disk + b"'", 120):
                raise RuntimeError("no passphrase prompt for " + disk.decode())
            b.sock.sendall(ata_ide.PASSPHRASE.encode() + b"\r")
    b.finish(800)
    out = {}
    for kind, n, t0, t1, c0, c1 in BENCH_RE.findall(b.console):
        secs = float(t1) - float(t0)
        out[kind.decode()] = (int(n) / secs if secs > 0 else 0.0, (int(c1) - int(c0)) / int(n))
    if len(out) != 2:
        raise RuntimeError("%s run gave no numbers (console tail %r)" % (mode, b.text()[-500:]))
    m = REQUESTS_RE.search(b.console)
    if m and mode not in ("bare", "dmcrypt"):  # exits per disk request: independent of how dd's blocks were split
        for kind, n in (("write", int(m.group(2))), ("read", int(m.group(3)))):
            exits = out[kind][1] * mb
            print("ide %-5s %-9s %s: %d requests, %.2f exits/request"
                  % (kind, mode, m.group(1).decode(), n, exits / n if n else 0.0))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=2 if bl.smoke() else 64)
    ap.add_argument("--modes", default="plain" if bl.smoke() else "bare,dmcrypt,plain,encrypted",
                    help="comma-separated subset of bare,dmcrypt,plain,encrypted")
    ap.add_argument("--runs", type=int, default=bl.disk_runs(), help="runs per configuration (median recorded)")
    args = ap.parse_args()
    runs = {}
    # Smoke mode (make test) boots once: the plain mediated disk, with no peer.
    before = bl.before_monitor()
    for _ in range(args.runs):  # interleaved, so load changes hit all configurations alike
        for mode in args.modes.split(","):
            with tempfile.TemporaryDirectory() as work:
                runs.setdefault(mode, []).append(run(work, mode, args.mb))
            if before and mode not in ("bare", "dmcrypt"):  # the same configuration on make bench's older monitor
                with tempfile.TemporaryDirectory() as work:
                    runs.setdefault(mode + "_before", []).append(run(work, mode, args.mb, elf=before))
    res = {mode: {kind: tuple(statistics.median(o[kind][i] for o in outs) for i in range(2))
                  for kind in ("write", "read")} for mode, outs in runs.items()}
    for kind in ("write", "read"):
        bare = res["bare"][kind][0] if "bare" in res else None
        dmc = res["dmcrypt"][kind][0] if "dmcrypt" in res else None
        if dmc:
            bl.record("ide_seq_%s_dmcrypt_MBps" % kind, round(dmc, 2), "MB/s", peer="same guest without thinvisor",
                      peer_value=round(bare, 2) if bare else None, runs=len(runs["dmcrypt"]),
                      samples=[round(o[kind][0], 2) for o in runs["dmcrypt"]], machine="pc", cpu="max", vendor="amd",
                      extra={"mb": args.mb})
            print("ide %-5s %-9s %7.2f MB/s (bare %7.2f)" % (kind, "dmcrypt", dmc, bare or 0))
        for mode in [m for m in ("encrypted", "plain", "encrypted_before", "plain_before") if m in res]:
            v = res[mode][kind][0]
            at = dict(machine="pc", cpu="max", vendor="amd", runs=len(runs[mode]),
                      extra={"mb": args.mb, "binary": bl.before_ref() if mode.endswith("_before") else "this tree"})
            # Encrypted against the guest's own dm-crypt when measured, else against bare.
            peer, peer_name = ((dmc, "same guest without thinvisor, dm-crypt aes-xts-plain64") if
                               mode.startswith("encrypted") and dmc else (bare, "same guest without thinvisor"))
            bl.record("ide_seq_%s_%s_MBps" % (kind, mode), round(v, 2), "MB/s",
                      peer=peer_name if peer else None, peer_value=round(peer, 2) if peer else None,
                      samples=[round(o[kind][0], 2) for o in runs[mode]],
                      goal=bl.goal("ratio", ">=", 0.8 if mode.startswith("plain") else 0.9), **at)
            exits = res[mode][kind][1]
            plain = res.get(mode.replace("encrypted", "plain"))
            bl.record("ide_seq_%s_%s_exits_per_MiB" % (kind, mode), round(exits, 2), "exits/MiB",
                      peer="same run, plain (no encryption)" if plain else None,
                      peer_value=round(plain[kind][1], 2) if plain else None, goal=bl.goal("value", "<=", 16), **at)
            print("ide %-5s %-9s %7.2f MB/s (peer %7.2f, ratio %.2f)  %6.2f exits/MiB"
                  % (kind, mode, v, peer or 0, v / peer if peer else 0, exits))
            cost = bl.time_per_exit(v, peer, exits)
            if cost:
                print("ide %-5s %-9s %.2f ms per MiB over its peer, %.0f us per exit" % (kind, mode, cost[0], cost[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
