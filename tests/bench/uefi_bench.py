#!/usr/bin/env python3
"""UEFI boot-to-shell with and without thinvisor (run by tests/bench/bench.py).

Both runs boot the same ESP image layout on OVMF (q35, -cpu max, 512 MiB, TCG): the loader
reads loader.conf and chains to Debian's kernel as an EFI stub (initrd and console in its
LoadOptions). With thinvisor the loader is build/thinvisor.efi, which starts the monitor
first; the peer is the same loader built with TV_BENCH_NO_MONITOR (mk/efi.mk), which
chains directly. So the two differ only by loading and running the monitor. Time is from
QEMU start to the guest's "thinvisor-guest: up"; runs are interleaved and the median of N
is kept. Appends JSON lines to build/bench/results.jsonl."""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "qemu"))
import qemu_run  # noqa: E402

EFI = os.path.join(ROOT, "build", "thinvisor.efi")
PEER_EFI = os.path.join(ROOT, "build", "efi-peer", "thinvisor-peer.efi")
KERNEL = os.path.join(ROOT, "build", "guest", "vmlinuz")
INITRD = os.path.join(ROOT, "build", "guest", "initrd.img")
INSTALL = os.path.join(ROOT, "tools", "thinvisor-install-efi")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
SHELL_MARK = b"thinvisor-guest: up"
TOTAL_RE = re.compile(r"power-off: exit counts .*total=(\d+)")



def make_esp(work, name, efi):
    img = os.path.join(work, name + ".img")
    subprocess.run([sys.executable, INSTALL, "--esp", img, "--create-image", "64", "--efi", efi,
                    "--add", "%s=/vmlinuz" % KERNEL, "--add", "%s=/initrd.img" % INITRD, "--next", "/vmlinuz",
                    "--next-options", "initrd=\\initrd.img console=ttyS0,115200 panic=-1"],
                   check=True, stdout=subprocess.DEVNULL)
    return img


def boot_once(img, machine, work, tag):
    """Seconds from QEMU start to the guest's shell, and the monitor's exit total (or None)."""
    script = os.path.join(work, "poweroff.sh")
    with open(script, "w") as f:
        f.write("poweroff -f\n")
    console, monlog = os.path.join(work, tag + "-console.log"), os.path.join(work, tag + "-monitor.log")
    for p in (console, monlog):
        if os.path.exists(p):
            os.unlink(p)
    vars_copy = os.path.join(work, tag + "-vars.fd")
    shutil.copyfile(OVMF_VARS, vars_copy)
    bus = ",bus=ide.0" if machine == "pc" else ""
    extra = ["-drive", "if=pflash,format=raw,readonly=on,file=%s" % OVMF_CODE,
             "-drive", "if=pflash,format=raw,file=%s" % vars_copy,
             "-drive", "id=esp,file=%s,format=raw,if=none,snapshot=on" % img,
             "-device", "ide-hd,drive=esp%s,bootindex=0" % bus]
    cmd = qemu_run.qemu_command(machine, "max", "512M", "none", None, None, script, "file:" + console,
                                "file:" + monlog, extra)
    start = time.monotonic()
    proc = subprocess.Popen(["timeout", "-k", "5", "240"] + cmd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    up = None
    while proc.poll() is None:
        if up is None and os.path.exists(console):
            with open(console, "rb") as f:
                if SHELL_MARK in f.read():
                    up = time.monotonic() - start
        time.sleep(0.05)
    if up is None:
        raise RuntimeError("the guest never reached its shell (%s)" % console)
    with open(monlog, errors="replace") as f:
        m = TOTAL_RE.search(f.read())
    return up, int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=1 if bl.smoke() else 3)
    ap.add_argument("--machine", default="q35")
    args = ap.parse_args()
    for path, how in ((EFI, "make efi"), (PEER_EFI, "make bench"), (KERNEL, "make guest"), (OVMF_CODE, "ovmf")):
        if not os.path.isfile(path):
            print("uefi_bench: %s missing (%s)" % (path, how), file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory(prefix="tv-uefi-bench-") as work:
        tv_img, peer_img = make_esp(work, "tv", EFI), make_esp(work, "peer", PEER_EFI)
        tv, peer, exits = [], [], None
        for _ in range(args.runs):  # interleaved, so load changes hit both alike
            peer.append(boot_once(peer_img, args.machine, work, "peer")[0])
            t, exits = boot_once(tv_img, args.machine, work, "tv")
            tv.append(t)
    t, p = statistics.median(tv), statistics.median(peer)
    at = dict(machine=args.machine, cpu="max", vendor="amd")
    bl.record("uefi_boot_to_shell_%s" % args.machine, round(t, 3), "s",
              peer="same ESP and loader without the monitor (chains directly)", peer_value=round(p, 3),
              goal=bl.goal("ratio", "<=", 1.3), runs=args.runs, samples=[round(x, 2) for x in tv],
              extra={"peer_samples": [round(x, 2) for x in peer]}, **at)
    if exits is not None:
        bl.record("uefi_boot_exits_%s_total" % args.machine, exits, "exits", **at)
    print("uefi_bench: boot to shell %.2f s with thinvisor, %.2f s without (ratio %.3f)" % (t, p, t / p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
