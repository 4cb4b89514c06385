#!/usr/bin/env python3
"""Sequential disk throughput through the AHCI mediator (run by tests/bench/bench.py).

QEMU q35 (ICH9 AHCI, TCG, -cpu max, 512 MiB), a second 128 MiB raw disk on AHCI port 1 that
the guest writes and then reads with dd, O_DIRECT, 1 MiB requests. Four configurations:
  encrypted  thinvisor, the scratch disk listed in thinvisor.conf (XTS on every sector)
  plain      thinvisor without thinvisor.conf (the mediator shadows, zero-copy, no XTS)
  bare       no thinvisor (plain's peer)
  dmcrypt    no thinvisor, the guest's own dm-crypt aes-xts-plain64 (512-bit key, 512-byte
             sectors) on the same disk (encrypted's peer, benchlib.dmcrypt_peer)
Each configuration runs TV_BENCH_RUNS times (bench.py --runs), interleaved; the median is
recorded.
and the VM exits per MiB in the two thinvisor runs (thinvisor-ctl counters before and after;
the goal is 16 or fewer), with a per-MiB breakdown by exit reason and by AHCI register (the
mediator's device counters). --native-sata adds each thinvisor run again with the scratch
disk's model in Linux's no-bridge-limits list, so commands are up to 1 MiB instead of QEMU's
128 KiB (docs/ahci.md, "Exits per MiB"). Appends JSON lines to build/bench/results.jsonl."""
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
import ata_ahci  # noqa: E402

BENCH_RE = re.compile(rb"TV-BENCH (write|read) (\d+) ([\d.]+) ([\d.]+) (\d+) (\d+) (\d+) (\d+)")
DELTA_RE = re.compile(rb"TV-BENCH-DELTA (write|read) (\S+) (-?\d+)")
QUEUE_RE = re.compile(rb"TV-BENCH-QUEUE (.*)")
DMCRYPT_RE = re.compile(rb"TV-BENCH-DMCRYPT (.*)")
# A model string in the kernel's list of devices that need no bridge limits: Linux otherwise
# caps every command to QEMU's disk at 128 KiB (QEMU's IDENTIFY word 93 describes a PATA
# device behind a bridge), which a native SATA disk would not get.
NATIVE_SATA_MODEL = "MTRON MSP-SATA7035"
CONF = """[disk.system]
serial = QM00001
keyslots = system.keys
[disk.scratch]
serial = TVSCRATCH
keyslots = scratch.keys
"""



def run(work, mode, mb, model=None, elf=None):
    """{'write': (MB/s, exits/MiB, exits/request, KiB/request, {counter: change}), 'read': ...}
    for one configuration."""
    image, keys, pf = ata_ahci.prepare(work, encrypt=(mode == "encrypted"))
    scratch = os.path.join(work, "scratch.img")
    with open(scratch, "wb") as f:
        f.truncate(128 << 20)
    if mode == "encrypted":
        shutil.copyfile(keys, os.path.join(work, "scratch.keys"))
        with open(os.path.join(work, "thinvisor.conf"), "w") as f:
            f.write(CONF)
    peer_args, prefix = bl.dmcrypt_peer() if mode == "dmcrypt" else ([], "")
    script = ata_ahci.write_script(work, "b.sh", "ahci-bench.sh", "MB=%d\n" % mb + prefix)
    extra = peer_args + ["-drive", "file=%s,format=raw,if=none,id=d1" % scratch,
             "-device", "ide-hd,drive=d1,bus=ide.1,serial=TVSCRATCH" + (",model=" + model if model else "")]
    modules = None
    if mode == "encrypted":
        modules = ",".join(os.path.join(work, n) for n in ("thinvisor.conf", "system.keys", "scratch.keys"))
    b = ata_ahci.Boot(work, image, script, timeout=600, conf=False, monitor=elf or (mode not in ("bare", "dmcrypt")),
                      extra=(["-initrd", modules] if modules else []) + extra)
    if modules:
        for disk in (b"system", b"scratch"):
            if not b.read_until(b"passphrase for disk '" + disk + b"'", 120):
                raise RuntimeError("no passphrase prompt for " + disk.decode())
            b.sock.sendall(ata_ahci.PASSPHRASE.encode() + b"\r")
    b.finish(500)
    out = {}
    deltas = {"write": {}, "read": {}}
    for kind, name, d in DELTA_RE.findall(b.console):
        deltas[kind.decode()][name.decode()] = int(d)
    for q in DMCRYPT_RE.findall(b.console):
        print("ahci %s: dm-crypt table %s" % (mode, q.decode().strip()))
    for q in QUEUE_RE.findall(b.console):
        print("ahci %s%s: %s" % (mode, " (model %s)" % model if model else "", q.decode().strip()))
    for kind, n, t0, t1, c0, c1, r0, r1 in BENCH_RE.findall(b.console):
        secs = float(t1) - float(t0)
        exits, reqs = int(c1) - int(c0), max(int(r1) - int(r0), 1)
        out[kind.decode()] = (int(n) / secs if secs > 0 else 0.0, exits / int(n), exits / reqs, int(n) * 1024 / reqs,
                             deltas[kind.decode()])
    if len(out) != 2:
        raise RuntimeError("%s run gave no numbers (console tail %r)" % (mode, b.text()[-500:]))
    return out


def breakdown(label, kind, mb, deltas):
    """The counters that moved during one phase, per MiB: exit reasons, then the mediator's
    accesses per register (ahci.<register>.<r|w>)."""
    moved = sorted(deltas.items(), key=lambda kv: (("." in kv[0]), -kv[1]))
    print("ahci %s %s per MiB: %s" % (label, kind, ", ".join("%s %.2f" % (k, v / mb) for k, v in moved if v)))


def median(outs):
    """One configuration's runs as one: the median of each number, the first run's counters."""
    return {kind: tuple(statistics.median(o[kind][i] for o in outs) for i in range(4)) + (outs[0][kind][4],)
            for kind in ("write", "read")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=2 if bl.smoke() else 64)
    ap.add_argument("--modes", default="plain" if bl.smoke() else "bare,dmcrypt,plain,encrypted",
                    help="comma-separated subset of bare,dmcrypt,plain,encrypted (bare is plain's throughput peer, "
                         "dmcrypt encrypted's)")
    ap.add_argument("--native-sata", action="store_true",
                    help="also run each thinvisor mode with the scratch disk's model in Linux's no-bridge-limits "
                         "list (commands up to max_segments pages instead of 128 KiB), reported as its own line")
    ap.add_argument("--runs", type=int, default=bl.disk_runs(), help="runs per configuration (median recorded)")
    args = ap.parse_args()
    modes = args.modes.split(",")
    runs = {}
    before = bl.before_monitor()
    for _ in range(args.runs):  # interleaved, so load changes hit all configurations alike
        for mode in modes:
            with tempfile.TemporaryDirectory() as work:
                runs.setdefault(mode, []).append(run(work, mode, args.mb))
            if before and mode not in ("bare", "dmcrypt"):  # the same configuration on make bench's older monitor
                with tempfile.TemporaryDirectory() as work:
                    runs.setdefault(mode + "-before", []).append(run(work, mode, args.mb, elf=before))
            if args.native_sata and mode not in ("bare", "dmcrypt"):
                with tempfile.TemporaryDirectory() as work:
                    runs.setdefault(mode + "-native", []).append(run(work, mode, args.mb, NATIVE_SATA_MODEL))
    res = {mode: median(outs) for mode, outs in runs.items()}
    samples = {mode: {kind: [round(o[kind][0], 2) for o in outs] for kind in ("write", "read")}
               for mode, outs in runs.items()}
    for kind in ("write", "read"):
        bare = res["bare"][kind][0] if "bare" in res else 0.0
        dmc = res["dmcrypt"][kind][0] if "dmcrypt" in res else 0.0
        at = dict(machine="q35", cpu="max", vendor="amd")
        if dmc:
            bl.record("ahci_seq_%s_dmcrypt_MBps" % kind, round(dmc, 2), "MB/s", peer="same guest without thinvisor",
                      peer_value=round(bare, 2) if bare else None, runs=len(runs["dmcrypt"]),
                      samples=samples["dmcrypt"][kind], extra={"mb": args.mb}, **at)
            print("ahci %-5s %-16s %7.2f MB/s (bare %7.2f)" % (kind, "dmcrypt", dmc, bare))
        for mode in [m for m in ("encrypted", "plain", "encrypted-native", "plain-native", "encrypted-before",
                                  "plain-before") if m in res]:
            v = res[mode][kind][0]
            suffix = mode.replace("-native", "_native_sata").replace("-before", "_before")
            # Encrypted against the guest's own dm-crypt when measured, else against bare.
            peer, peer_name = ((dmc, "same guest without thinvisor, dm-crypt aes-xts-plain64") if
                               mode.startswith("encrypted") and dmc else (bare, "same guest without thinvisor"))
            bl.record("ahci_seq_%s_%s_MBps" % (kind, suffix), round(v, 2), "MB/s",
                      peer=peer_name if peer else None, peer_value=round(peer, 2) if peer else None,
                      goal=bl.goal("ratio", ">=", 0.8 if mode.startswith("plain") else 0.9), runs=len(runs[mode]),
                      samples=samples[mode][kind], extra={"mb": args.mb}, **at)
            exits = res[mode][kind][1]
            by_reason = {k: round(d / args.mb, 2) for k, d in res[mode][kind][4].items() if d and "." not in k}
            bl.record("ahci_seq_%s_%s_exits_per_MiB" % (kind, suffix), round(exits, 2), "exits/MiB",
                      goal=bl.goal("value", "<=", 16), runs=len(runs[mode]), extra={"mb": args.mb, "by_reason": by_reason},
                      **at)
            per_cmd, kib = res[mode][kind][2], res[mode][kind][3]
            bl.record("ahci_seq_%s_%s_exits_per_command" % (kind, suffix), round(per_cmd, 2), "exits/command",
                      goal=bl.goal("value", "<=", 2), runs=len(runs[mode]), extra={"command_kib": round(kib, 1)}, **at)
            print("ahci %-5s %-16s %7.2f MB/s (peer %7.2f, ratio %.2f)  %6.2f exits/MiB  %5.2f exits/command"
                  " (%.0f KiB commands)" % (kind, mode, v, peer, v / peer if peer else 0, exits, per_cmd, kib))
            cost = bl.time_per_exit(v, peer, exits)
            if cost:
                print("ahci %-5s %-16s %.2f ms per MiB over its peer, %.0f us per exit" % (kind, mode, cost[0], cost[1]))
            breakdown(mode, kind, args.mb, res[mode][kind][4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
