#!/usr/bin/env python3
"""The attacks under Intel VT-x that need a guest without an OS (Bochs 2.7, issue 12).

tvattack (a Linux program) runs in bochs-haswell's boot (tests/suites/bochs.py,
tests/suites/_bochs_attack.py); what it cannot do from Linux user space is here: a freestanding
attacker, tests/bochs/attack_guest.asm, booted as the first hard disk (the primary master; the
GRUB CD that loads the monitor is the secondary master). It prints `TV-ATTACK: ready` on COM1
(a socket this script listens on, as in bochs_disk.py); the script types the monitor's code
canary address (from the monitor's log on COM2) and a mode. Three boots, 15-40 s each:

  A  bios-e820-unreal (issue 12, item 8: the BIOS-services hypercall with ES's hidden base in
     the monitor's region), pio-insw-into-monitor and pio-outsw-from-monitor (REP INSW/OUTSW on
     the IDE data port, which the mediator emulates, with the memory operand in the region),
     ide-wide-out-1f6 (item 1: a 16-bit OUT at 0x1F6 whose high byte is READ DMA for the command
     register, its PRD aimed at the region), ioapic-init-entry (an IOAPIC entry written with INIT delivery), invd (item 6). Then the
     guest powers off; the monitor's power-off canary check must find every canary intact.
  T  task-switch (item 7): a JMP to a TSS in protected mode. VMX exits on it; the monitor does
     not emulate task switches and must shut the guest down with a log line, not panic.
  I  init-icr-bsp (item 6): an INIT IPI from the boot CPU to itself through the xAPIC ICR. VMX
     exits on INIT; the monitor must hold the CPU in wait-for-SIPI (logged), not panic, and the
     machine must not restart without it.

Then boot A once more under QEMU (pc, AMD-V under TCG, the same CD and disk; about 25 s),
so that its attacks run on AMD-V too: `attack-rm-amdv/NAME` lines and gates (`--no-qemu`
leaves it out).

Judged with tests/suites/attacks.py's Judge (the guest's `ATTACK`/`DEFENDED`/`BREACH` lines) plus
what only the host sees: the canary's bytes in the console or on the disk, a changed canary
slice (each writing attack aims at its own 512-byte slice of the code canary page), a monitor
that panicked or stopped. One line per attack, `PASS|FAIL|SKIP attack-vtx/NAME: ...`, plus the
gates attack-vtx/rm-monitor-survived and attack-vtx/rm-canary-intact for boot A.

    tests/suites/bochs_rmattack.py [--only NAME[,NAME...]] [--keep]

Logs in build/test-results/bochs_rmattack/MODE/ (console.log = COM1, monitor.log = COM2,
bochs.log). Each Bochs boot runs under `timeout` (TIMEOUT, TV_BOCHS_RMATTACK_TIMEOUT).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _bochs_attack as bxa  # noqa: E402
import attacks as atk  # noqa: E402
import bochs as bx  # noqa: E402

LOGS = os.path.join(bx.ROOT, "build", "test-results", "bochs_rmattack")
GUEST_ASM = os.path.join(bx.ROOT, "tests", "bochs", "attack_guest.asm")
TIMEOUT = int(os.environ.get("TV_BOCHS_RMATTACK_TIMEOUT", "300"))
PREFIX = bxa.PREFIX
MODES = [("A", ["bios-e820-unreal", "pio-insw-into-monitor", "pio-outsw-from-monitor", "ide-wide-out-1f6",
                "ioapic-init-entry", "invd"]),
         ("T", ["task-switch"]),
         ("I", ["init-icr-bsp"])]
# Which attack writes towards which 512-byte slice of the code canary page (pio-outsw reads its
# slice only).
SLICES = {0: "bios-e820-unreal", 1: "pio-insw-into-monitor", 2: "pio-outsw-from-monitor", 3: "ide-wide-out-1f6"}
BOCHSRC = """display_library: term
megs: 64
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=corei7_haswell_4770, count=1, reset_on_triple_fault=0, ips=50000000
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=disk, path=%(disk)s, mode=flat
ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15
ata1-master: type=cdrom, path=%(iso)s, status=inserted
boot: cdrom
com1: enabled=1, mode=socket-client, dev=localhost:%(port)d
com2: enabled=1, mode=file, dev=%(com2)s
log: %(log)s
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
"""
# Boot A again under QEMU (AMD-V, TCG), issue 12's "on AMD-V" for what only this attacker can
# do there: the BIOS-services write (item 8), REP INSW/OUTSW into and from the region, the
# 16-bit OUT at 0x1F6, the IOAPIC INIT entry and INVD (item 6; TCG models no cache, so INVD
# can only show that the guest runs on and keeps its write). One boot of about 20 s.
QEMU = ["qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-cpu", "max", "-m", "128M", "-display", "none",
        "-monitor", "none", "-no-reboot", "-nodefaults", "-vga", "std"]
QEMU_PREFIX = "attack-rm-amdv"
NOT_HERE = {
    "nested-fault-above-2^48": "cannot be made on this CPU: Bochs' Haswell has 40 physical address bits, so a "
                               "guest page-table entry naming an address at or above 2^40 takes a reserved-bit #PF "
                               "in the guest before any EPT walk (the monitor's path for a fault beyond the "
                               "physical address space is host-tested: GuestMemoryTest, NestedFault*)",
}


def build_disk(work):
    binary = os.path.join(work, "attack_guest.bin")
    subprocess.run(["timeout", "30", "nasm", "-f", "bin", GUEST_ASM, "-o", binary], check=True)
    disk = os.path.join(work, "disk.img")
    shutil.copy(binary, disk)
    with open(disk, "r+b") as f:
        f.truncate(20 * 16 * 63 * 512)  # a geometry Bochs takes without asking
    return disk


def spawn_qemu(iso, disk, port, com2, log):
    """The same machine under QEMU (AMD-V, TCG): the attacker the primary master, the GRUB CD
    the secondary master, COM1 to our socket, COM2 to a file. Returns the process."""
    with open(log, "wb") as err:
        return subprocess.Popen(["timeout", str(TIMEOUT)] + QEMU + [
            "-drive", "file=%s,format=raw,if=ide,index=0" % disk, "-drive", "file=%s,media=cdrom,if=ide,index=2" % iso,
            "-boot", "d", "-serial", "tcp:127.0.0.1:%d" % port, "-serial", "file:%s" % com2],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)


def boot(work, iso, mode, names, qemu=False):
    """One Bochs (or, with qemu, QEMU) boot in `mode`. Returns (console, monitor log, code canary
    address or None, canary unit hex or None, disk path, seconds, problems that stopped the boot)."""
    out = os.path.join(LOGS, ("amdv-" if qemu else "") + mode)
    os.makedirs(out, exist_ok=True)
    com1, com2, log = bx.fresh_logs(out)
    disk = build_disk(work)
    con = bxa.Com1(com1)
    con.start()
    with open(os.path.join(work, "bochsrc.txt"), "w") as f:
        f.write(BOCHSRC % {"iso": iso, "disk": disk, "port": con.port, "com2": com2, "log": log})
    with open(os.path.join(work, "dbgcmds.txt"), "w") as f:
        f.write("c\n")
    t0 = time.monotonic()
    if qemu:
        proc = spawn_qemu(iso, disk, con.port, com2, log)
        pid, master = proc.pid, None
    else:
        proc = None
        pid, master = bx.spawn_bochs(work, TIMEOUT)
        bx.Drain(master, {}).start()
    code = unit = None
    problems = []
    typed_at = None
    try:
        while True:
            # Bochs may quit (the guest's power-off) between two looks: what it logged before
            # is read after it is seen gone, so its last lines are judged, not lost.
            gone = proc.poll() is not None if proc else os.waitpid(pid, os.WNOHANG)[0] != 0
            mon = bx.read(com2)
            if typed_at is None and b"TV-ATTACK: ready" in con.data:
                try:
                    kind, unit, _, places = atk.targets_from_log(mon)
                    code = places.get("code")
                except RuntimeError as e:
                    problems.append(str(e))
                    break
                if not code:
                    problems.append("no code canary in the monitor log")
                    break
                if kind != "rdrand":
                    problems.append("the canary is not random (%s)" % kind)
                con.type("%x %s" % (code, mode))
                typed_at = time.monotonic()
            if "PANIC" in mon or "thinvisor: halted" in mon:
                time.sleep(1)
                break
            if mode == "A" and "power-off: exit counts" in mon:
                time.sleep(1)
                break
            if mode == "T" and "guest task switch" in mon:
                time.sleep(3)  # a panic or a second boot would show now
                break
            if mode == "I" and typed_at and (re.search(r"took an INIT", mon) or b"ran on after" in con.data):
                time.sleep(3)
                break
            if con.data.count(b"TV-ATTACK: ready") > 1:  # the machine restarted
                break
            if gone:
                problems.append("%s ended before the boot's end was seen" % ("QEMU" if qemu else "Bochs"))
                break
            if time.monotonic() >= t0 + TIMEOUT - 5:
                problems.append("timed out")
                break
            time.sleep(0.2)
    finally:
        if proc:
            proc.kill()
            proc.wait()
        else:
            bx.stop(pid)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            os.close(master)
        con.close()
    time.sleep(0.2)
    return (con.data.decode("utf-8", "replace").replace("\r", ""), bx.read(com2), code, unit, disk,
            time.monotonic() - t0, problems)


def judge_mode(judge, mode, names, result, logs=None):
    console, mon, code, unit, disk, secs, problems = result
    for p in problems:
        for n in names:
            judge.host(n, "boot %s: %s" % (mode, p))
    if code is None:
        return
    after = mon
    if "PANIC" in mon:
        panic = re.search(r"(?m)^.*PANIC.*$", mon).group(0).strip()[:200]
        for n in names:
            judge.host(n, "the monitor panicked: %s" % panic)
    pats = atk.needles(unit)
    if atk.find_all(console.encode(), pats):
        for n in names:
            judge.host(n, "canary bytes in what the guest printed")
    if mode == "A":
        judge.guest(console, names, "A", mon)
        with open(disk, "rb") as f:
            if atk.find_all(f.read(), pats):
                judge.host("pio-outsw-from-monitor", "canary bytes on the disk")
        # Bochs itself drops a 16-bit write to 0x1F6 ("write to port 0x01f6 with len 2 ignored"),
        # so with the byte split gone nothing leaks there; what shows the defence is that the
        # command byte reached the IDE mediator, which refused the PRD into the region.
        if "ide-wide-out-1f6" in atk.sections(console) and not re.search(r"refused READ DMA \(0xc8\)", mon):
            judge.host("ide-wide-out-1f6", "the command byte of the 16-bit OUT at 0x1F6 never reached the IDE "
                       "mediator (no refused READ DMA in the monitor log): the access was not split")
        for what, addr in re.findall(r"canary: CHANGED in (\w+) at (0x[0-9a-f]+)", mon):
            who = SLICES.get((int(addr, 16) - code) // 512) if what == "code" else None
            judge.host(who or "rm-canary-intact", "the monitor's %s canary changed at %s (power-off check)" % (what, addr))
        atk.judge_gates(judge, mon, len(names))
        for g in ("monitor-survived", "canary-intact"):
            if g in judge.verdicts:  # a boot without its power-off check has only the breach
                judge.verdicts["rm-" + g] = judge.verdicts.pop(g)
            if g in judge.breaches:
                judge.breaches["rm-" + g] = judge.breaches.pop(g)
    elif mode == "T":
        secs_ = atk.sections(console)
        if "task-switch" not in secs_:
            judge.host("task-switch", "the guest never started the attack")
        elif "task-switch" not in judge.breaches:
            m = re.search(r"(?m)^.*guest task switch.*$", after)
            if "DEFENDED task-switch" in console:
                judge.verdicts["task-switch"] = ("DEFENDED", "the task switch was carried out; the new task ran")
            elif m:
                judge.verdicts["task-switch"] = ("DEFENDED", "no panic; the monitor logged: %s" % m.group(0).strip())
            else:
                judge.host("task-switch", "the guest stopped at the task switch and the monitor logged nothing of it")
    else:
        secs_ = atk.sections(console)
        if "init-icr-bsp" not in secs_:
            judge.host("init-icr-bsp", "the guest never started the attack")
        elif "init-icr-bsp" not in judge.breaches:
            m = re.search(r"(?m)^.*took an INIT.*$", after)
            if m and "ran on after" not in console and console.count("TV-ATTACK: ready") == 1:
                judge.verdicts["init-icr-bsp"] = ("DEFENDED", "no panic, no restart; the monitor logged: %s"
                                                  % m.group(0).strip())
            elif "ran on after" in console:
                judge.verdicts["init-icr-bsp"] = ("SKIPPED", "the INIT never reached the CPU (Bochs delivered no INIT "
                                                  "to itself): nothing was attacked")
            else:
                judge.host("init-icr-bsp", "the boot CPU stopped after an INIT and the monitor logged nothing of it"
                           + ("; the machine restarted" if console.count("TV-ATTACK: ready") > 1 else ""))
    print("bochs_rmattack: boot %s %.0f s (logs %s)" % (logs or mode, secs, os.path.relpath(os.path.join(LOGS, logs or mode))),
          flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="attack names or substrings, comma-separated (a boot runs if any of its attacks is picked)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (printed)")
    ap.add_argument("--no-qemu", action="store_true", help="without boot A's second run under QEMU (AMD-V)")
    args = ap.parse_args(argv)
    subs = [s for s in (args.only or "").split(",") if s]
    pick = [(m, names) for m, names in MODES if not subs or any(s in PREFIX + "/" + n or s in "bochs_rmattack"
                                                                for s in subs for n in names)]
    if not pick:
        return 0
    missing = [t for t in ("bochs", "nasm", "grub-mkrescue", "xorriso") if shutil.which(t) is None]
    if missing or not os.path.isfile(bx.MONITOR):
        for m, names in pick:
            for n in names:
                print("FAIL %s/%s: missing %s" % (PREFIX, n, ", ".join(missing) or bx.MONITOR), flush=True)
        return 1
    tmp = tempfile.mkdtemp(prefix="tv-bochs-rmattack-")
    judge = atk.Judge()
    order = []
    try:
        iso = bx.build_iso(tmp, "")
        for mode, names in pick:
            work = tempfile.mkdtemp(prefix=mode + "-", dir=tmp)
            judge_mode(judge, mode, names, boot(work, iso, mode, names))
            order += names + (["rm-monitor-survived", "rm-canary-intact"] if mode == "A" else [])
        for n, why in NOT_HERE.items():
            print("SKIP %s/%s: %s" % (PREFIX, n, why), flush=True)
        failed = judge.report(order, PREFIX)
        if any(m == "A" for m, _ in pick) and not args.no_qemu:
            qjudge, names = atk.Judge(), MODES[0][1]
            work = tempfile.mkdtemp(prefix="amdv-A-", dir=tmp)
            judge_mode(qjudge, "A", names, boot(work, iso, "A", names, qemu=True), logs="amdv-A")
            failed += qjudge.report(names + ["rm-monitor-survived", "rm-canary-intact"], QEMU_PREFIX)
    finally:
        if args.keep:
            print("kept %s" % tmp, flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
