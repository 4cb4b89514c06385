#!/usr/bin/env python3
"""The monitor clock on Intel VT-x (Bochs 2.7): its ticks keep time whatever the guest does.

Bochs boots a GRUB CD that loads build/thinvisor.elf with a thinvisor.conf [network] section
(static address; Bochs' e1000 on a tap in a private namespace), so the monitor clock runs the
network tick every 10 ms. The guest is one boot sector that makes no exit at all: it first
idles about 15 s of Bochs time in HLT with interrupts on (only the BIOS's 18 Hz timer tick
wakes it, and external interrupts do not exit), then spins about 16 s with interrupts off,
then powers off through PM1a_CNT. Only the VMX preemption timer gets the monitor back, so the
power-off line `clock: N timed runs, latest X us after its deadline, L later than 10 ms` must
show at least MIN_RUNS ticks and L = 0 (every tick within 10 ms of its deadline; Bochs time is
the guest's TSC, so Bochs' own speed does not enter). With the exit-driven tick of old (or the
preemption timer switched off) the monitor gets no tick at all in those 30 s.

The host's ping of the monitor is not checked here: under Bochs the monitor received one
broadcast frame and then none (nic counters `rx monitor 0, shared 1`), a NIC path problem
outside the clock; net_monitor.py's latency run checks the ping under QEMU.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on failure. Needs root (namespace, tap).
Everything it creates is removed on every exit path (_netlib's cleanup). Logs in
build/test-results/bochs_net/clock/.
"""
import os
import pty
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402
import bochs as bx  # noqa: E402
import net_monitor as nm  # noqa: E402

LOGS = os.path.join(nl.ROOT, "build", "test-results", "bochs_net")
MIN_RUNS = 2000  # 30 s of 10 ms ticks is 3000; Bochs time may run a little short of it
TIMEOUT = int(os.environ.get("TV_BOCHS_TIMEOUT", "900"))
# The guest (nasm): xor ax,ax; mov ds,ax; mov bx,[0x46c]; sti; idle: hlt; mov ax,[0x46c];
# sub ax,bx; cmp ax,273; jb idle; cli; mov ecx,0x18000000; spin: dec ecx; jnz spin;
# mov dx,0xb004; mov ax,0x2000; out dx,ax; hlt
GUEST = "31c08ed88b1e6c04fbf4a16c0429d83d110172f5fa66b900000018664975fcba04b0b80020eff4"
BOCHSRC = """display_library: term
megs: 128
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
cpu: model=corei7_haswell_4770, count=1, reset_on_triple_fault=0, ips=50000000
pci: enabled=1, chipset=i440fx, slot1=e1000
e1000: enabled=1, mac=%(mac)s, ethmod=tuntap, ethdev=/dev/net/tun:%(tap)s
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=%(iso)s, status=inserted
ata0-slave: type=disk, path=%(disk)s, mode=flat
boot: cdrom
com1: enabled=1, mode=file, dev=%(com1)s
com2: enabled=1, mode=file, dev=%(com2)s
log: %(log)s
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
"""
GRUB = """set timeout=0
set default=0
menuentry "thinvisor" {
    multiboot /boot/thinvisor.elf
    module /boot/thinvisor.conf /boot/thinvisor.conf
    boot
}
"""


def build_inputs(work, net):
    iso_root = os.path.join(work, "iso")
    os.makedirs(os.path.join(iso_root, "boot", "grub"))
    shutil.copy(os.environ.get("TV_BOCHS_MONITOR", nl.MONITOR), os.path.join(iso_root, "boot", "thinvisor.elf"))
    with open(os.path.join(iso_root, "boot", "thinvisor.conf"), "w") as f:
        f.write("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
                % (nm.MON_MAC, nm.STATIC_IP, net.host_ip))
    with open(os.path.join(iso_root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB)
    iso = os.path.join(work, "thinvisor.iso")
    p = subprocess.run(["timeout", "120", "grub-mkrescue", "-d", "/usr/lib/grub/i386-pc", "-o", iso, iso_root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise RuntimeError("grub-mkrescue failed: %s" % p.stdout.strip()[-300:])
    disk = os.path.join(work, "disk.img")
    sector = bytes.fromhex(GUEST).ljust(510, b"\0") + b"\x55\xaa"
    with open(disk, "wb") as f:
        f.write(sector)
        f.truncate(20 * 16 * 63 * 512)  # a geometry Bochs takes without asking
    return iso, disk


def start_bochs(work, net, iso, disk):
    logs = {k: os.path.join(work, k + ".log") for k in ("console", "monitor", "bochs")}
    with open(os.path.join(work, "bochsrc.txt"), "w") as f:
        f.write(BOCHSRC % {"mac": nm.GUEST_MAC, "tap": net.tap, "iso": iso, "disk": disk,
                           "com1": logs["console"], "com2": logs["monitor"], "log": logs["bochs"]})
    with open(os.path.join(work, "dbgcmds.txt"), "w") as f:
        f.write("c\n")
    pid, master = pty.fork()
    if pid == 0:  # Bochs' term display needs a terminal; it runs in the namespace, under timeout
        os.chdir(work)
        os.environ["TERM"] = "xterm"
        try:
            os.execvp("ip", net.nsexec() + ["timeout", "--kill-after=5", str(TIMEOUT), "bochs", "-q", "-f",
                                            "bochsrc.txt", "-rc", "dbgcmds.txt"])
        finally:
            os._exit(127)
    info = {}
    bx.Drain(master, info).start()
    return pid, master, logs


def wait_log(path, pattern, seconds, pid):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        m = re.search(pattern, bx.read(path))
        if m:
            return m
        if os.waitpid(pid, os.WNOHANG)[0]:
            return None
        time.sleep(1)
    return None


CLOCK_RE = re.compile(r"clock: (\d+) timed runs, latest (\d+) us after its deadline, (\d+) later than 10 ms.*")


def run_clock(work):
    problems, notes = [], []
    net = nl.Net("bn").setup()
    pid, master = None, None
    try:
        iso, disk = build_inputs(work, net)
        pid, master, logs = start_bochs(work, net, iso, disk)
        t0 = time.monotonic()
        if not wait_log(logs["monitor"], r"power-off: exit counts", TIMEOUT - 30, pid):
            return ["the guest did not power off (monitor.log ends: %s)" % bx.tail(bx.read(logs["monitor"]))], notes
        time.sleep(2)  # the counter lines after it
        log = bx.read(logs["monitor"])
        m = CLOCK_RE.search(log)
        if not m:
            return ["no clock line at power-off (monitor.log ends: %s)" % bx.tail(log)], notes
        runs, latest, late = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if runs < MIN_RUNS:
            problems.append("only %d ticks in the guest's 30 s (want %d or more): %s" % (runs, MIN_RUNS, m.group(0)))
        if late:
            problems.append("%d ticks later than 10 ms: %s" % (late, m.group(0)))
        counts = re.search(r"power-off: exit counts (.*)", log)
        notes.append("%d ticks, latest %.1f ms late; exits %s; %.0f s" % (runs, latest / 1000.0,
                     counts.group(1) if counts else "?", time.monotonic() - t0))
    except Exception as e:  # noqa: BLE001 -- report, never crash the suite
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if pid:
            bx.stop(pid)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        if master is not None:
            try:
                os.close(master)
            except OSError:
                pass
        net.cleanup()
    return problems, notes


def main():
    cases = [("clock", run_clock)]
    return nl.run_suite("bochs-net", __doc__.split("\n")[0], cases, LOGS)


if __name__ == "__main__":
    sys.exit(main())
