#!/usr/bin/env python3
"""The monitor clock and network on Intel VT-x (Bochs 2.7): ticks and ping replies in time, and an AoE boot.

Bochs boots a GRUB CD that loads build/thinvisor.elf with a thinvisor.conf [network] section
(static address; Bochs' e1000 on a tap in a private namespace), so the monitor clock runs the
network tick every 10 ms. The guest is one boot sector, tests/bochs/clock_guest.asm. It first
pings the host through the shared e1000 with a driver of its own (its I/O BAR, one TX and one
RX ring; the test puts the echo request into the sector and a static neighbour entry on the
host) and writes P+ (a reply came) or P- to COM1. Then it makes no exit at all: it idles
about 30 s of Bochs time in HLT with interrupts on (only the BIOS's 18 Hz timer tick wakes
it, and external interrupts do not exit), then spins about 8 s with interrupts off, then
powers off through PM1a_CNT; it writes I, B and E to COM1 as each phase starts and ends.
Only the VMX preemption timer gets the monitor back. Checked in that one boot:
  - the guest's ping of the host is answered (P+): its frame goes out through the mediator's
    device ring and the reply comes into its own ring past the guest-side unicast filter;
  - the power-off line `clock: N timed runs, latest X us after its deadline, L later than
    10 ms` shows at least MIN_RUNS ticks and L = 0 (Bochs time is the guest's TSC, so Bochs'
    own speed does not enter);
  - from the moment the monitor's stack is up, the host sends an ICMP echo request to the
    monitor every 20 ms; of those sent while the guest idles, and again while it spins (each
    away from the phase edges by EDGE s), the first PINGS must all be answered, none later
    than the limit (issue 11 section 4 under Bochs: QEMU's 50 ms scaled by the Bochs speed
    measured in the busy phase, x 2.5, at least 250 ms; a series that fails only on
    lateness is judged again on the next PINGS of the same phase, up to SERIES in all, as a
    host stall is not the monitor's).
With the exit-driven tick of old (or the preemption timer switched off) the monitor gets no
tick and answers no ping while the guest spins.

A second boot (case `aoe`, about 10-20 s) has no local disk: vblade serves a 4 MiB image on
the tap (tests/bochs/aoe_guest.asm as its boot sector, markers in sectors 1 and 2), the
monitor ([network] + [aoe]) emulates the primary IDE master from it, and Bochs' CD moves to
the secondary channel. The guest boots from it through the monitor's INT 13h hook, reads
sector 1 by INT 13h AH=42h and sector 2 by ATA PIO, writes sector 3 by PIO and reads sector 4
by bus-master DMA: COM1 must say `TV-AOE int13=ok pio=ok dma=ok` and vblade's image must hold
the written sector.

Bochs 2.7's e1000 keeps only RAR[0-3] (writes to RAR[4-15] are dropped), so the monitor's MAC
cannot sit in RAR[15] there: the mediator runs the device unicast-promiscuous and filters the
guest's unicast itself (drivers/nic/e1000_mediator.hpp); before that, the monitor received
broadcasts only.

Each Bochs boot runs under `timeout` (TIMEOUT: 300 s, TV_BOCHS_NET_TIMEOUT); measured 34-42 s
for the clock boot and 11-14 s for the AoE boot.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on failure. Needs root (namespace, tap).
Everything it creates is removed on every exit path (_netlib's cleanup). Logs in
build/test-results/bochs_net/clock/ (pings.txt: seq, phase, send time, round trip) and
build/test-results/bochs_net/aoe/.
"""
import os
import pty
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402
import bochs as bx  # noqa: E402
import net_monitor as nm  # noqa: E402

LOGS = os.path.join(nl.ROOT, "build", "test-results", "bochs_net")
MIN_RUNS = 3000  # 38 s of 10 ms ticks is 3800; Bochs time may run a little short of it
# Each Bochs boot runs under `timeout` with this bound (s). Measured on the shared 2-core host:
# the clock boot 34-42 s, the AoE boot 11-14 s; the bound leaves room for a loaded host.
TIMEOUT = int(os.environ.get("TV_BOCHS_NET_TIMEOUT", "300"))
CLOCK_GUEST = os.path.join(nl.ROOT, "tests", "bochs", "clock_guest.asm")
FRAME_AT = 400  # where clock_guest.asm takes its echo request from (FRAME - 0x7c00)
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


NET_CONF = "[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"


def build_iso(work, conf):
    """The GRUB CD: the monitor and thinvisor.conf."""
    iso_root = os.path.join(work, "iso")
    os.makedirs(os.path.join(iso_root, "boot", "grub"))
    shutil.copy(os.environ.get("TV_BOCHS_MONITOR", nl.MONITOR), os.path.join(iso_root, "boot", "thinvisor.elf"))
    with open(os.path.join(iso_root, "boot", "thinvisor.conf"), "w") as f:
        f.write(conf)
    with open(os.path.join(iso_root, "boot", "grub", "grub.cfg"), "w") as f:
        f.write(GRUB)
    iso = os.path.join(work, "thinvisor.iso")
    p = subprocess.run(["timeout", "120", "grub-mkrescue", "-d", "/usr/lib/grub/i386-pc", "-o", iso, iso_root],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise RuntimeError("grub-mkrescue failed: %s" % p.stdout.strip()[-300:])
    return iso


def echo_request(net):
    """The guest's ping of the host as a 98-byte Ethernet frame: to the tap's MAC, from
    GUEST_MAC/GUEST_IP, ICMP echo request id 0x7476 seq 1 with 56 bytes of data."""
    tap_mac = subprocess.run(net.nsexec() + ["cat", "/sys/class/net/%s/address" % net.tap], check=True,
                             stdout=subprocess.PIPE, text=True, timeout=10).stdout.strip()
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x7476, 1) + bytes(range(56))
    icmp = icmp[:2] + struct.pack("!H", Pinger._csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0, socket.inet_aton(nm.GUEST_IP),
                     socket.inet_aton(net.host_ip))
    ip = ip[:10] + struct.pack("!H", Pinger._csum(ip)) + ip[12:]
    return nl.mac_bytes(tap_mac) + nl.mac_bytes(nm.GUEST_MAC) + b"\x08\x00" + ip + icmp


def build_inputs(work, net):
    iso = build_iso(work, NET_CONF % (nm.MON_MAC, nm.STATIC_IP, net.host_ip))
    boot = os.path.join(work, "clock_guest.bin")
    subprocess.run(["timeout", "30", "nasm", "-f", "bin", CLOCK_GUEST, "-o", boot], check=True)
    with open(boot, "rb") as f:
        sector = bytearray(f.read())
    frame = echo_request(net)
    sector[FRAME_AT:FRAME_AT + len(frame)] = frame
    # The host answers the guest without asking ARP (the boot sector has no ARP).
    net.sh(*(net.nsexec() + ["ip", "neigh", "replace", nm.GUEST_IP, "lladdr", nm.GUEST_MAC, "dev", net.tap,
                              "nud", "permanent"]))
    disk = os.path.join(work, "disk.img")
    with open(disk, "wb") as f:
        f.write(bytes(sector))
        f.truncate(20 * 16 * 63 * 512)  # a geometry Bochs takes without asking
    return iso, disk


def start_bochs(work, net, iso, disk, rc=None):
    logs = {k: os.path.join(work, k + ".log") for k in ("console", "monitor", "bochs")}
    with open(os.path.join(work, "bochsrc.txt"), "w") as f:
        f.write((rc or BOCHSRC) % {"mac": nm.GUEST_MAC, "tap": net.tap, "iso": iso, "disk": disk,
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
PINGS = 100         # judged per phase: the first PINGS requests sent while the guest idles / spins
PING_EVERY = 0.02   # s between echo requests
EDGE = 0.5          # s: requests this close to a phase change are not judged (COM1 is polled)
# Series of PINGS judged per phase at most: a series whose replies all came but some too late
# is followed by the next one. At a host load of 14 on 2 cores the Bochs process was seen
# stalled for 300 ms (8 replies in a row arriving together); a monitor that stops answering
# fails every series.
SERIES = 3
# The latency limit under Bochs (issue 11 section 4): QEMU TCG's 50 ms scaled by Bochs' speed
# in this run, times a margin for the shared host, and never below LATENCY_FLOOR_MS. Bochs time
# (the monitor's 10 ms tick, Bochs' 1 ms tap poll) runs at ips=50000000 guest instructions per
# Bochs second; the busy phase is a known SPIN_INSNS instructions, so its wall time gives the
# speed: at 24 M instructions per wall second (2 cores, load 3-4) Bochs time runs at about half
# of wall time and the limit is 50 ms x 2.1 x 2.5 = 260 ms; a slower Bochs (more load) gets a
# proportionally larger limit. Measured: busy max 44-120 ms, idle max 12-215 ms (docs/net.md).
# A tick that needs the guest to exit answers none at all.
QEMU_LIMIT_MS = 50.0
BOCHS_IPS = 50e6
SPIN_INSNS = 2 * 0x0C000000  # dec ecx; jnz spin, 0x0c000000 times (clock_guest.asm)
LATENCY_MARGIN = 2.5
LATENCY_FLOOR_MS = 250.0


def latency_limit(busy_wall_s):
    """(limit in ms, Bochs speed in M instructions per wall second) for a busy phase that took
    busy_wall_s seconds of wall time."""
    speed = SPIN_INSNS / busy_wall_s if busy_wall_s > 0 else BOCHS_IPS
    return max(LATENCY_FLOOR_MS, QEMU_LIMIT_MS * (BOCHS_IPS / speed) * LATENCY_MARGIN), speed / 1e6


class Pinger(threading.Thread):
    """ICMP echo requests from the host side of the tap to the monitor, every PING_EVERY s,
    each tagged with the guest's phase when it was sent; replies matched by sequence."""

    def __init__(self, net, ip, phase):
        super().__init__(daemon=True)
        self.sock = net.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.settimeout(0.01)
        self.ip, self.phase = ip, phase
        self.icmp_id = os.getpid() & 0xFFFF
        self.sent, self.rtt = {}, {}  # seq -> (phase, send time); seq -> round trip in ms
        self.stop = threading.Event()

    @staticmethod
    def _csum(b):
        if len(b) % 2:
            b += b"\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xFFFF)
        return ~(s + (s >> 16)) & 0xFFFF

    def _send(self, seq):
        body = struct.pack("!HH", self.icmp_id, seq) + b"thinvisor-bochs-ping"
        pkt = struct.pack("!BBH", 8, 0, 0) + body
        pkt = struct.pack("!BBH", 8, 0, self._csum(pkt)) + body
        self.sent[seq] = (self.phase(), time.monotonic())
        try:
            self.sock.sendto(pkt, (self.ip, 0))
        except OSError:  # e.g. the neighbour queue full while the monitor answers no ARP: unanswered
            pass

    def _drain(self, until):
        while time.monotonic() < until:
            try:
                data = self.sock.recv(2048)
            except socket.timeout:
                continue
            ihl = (data[0] & 0xF) * 4
            if len(data) < ihl + 8 or data[ihl] != 0:
                continue
            ident, seq = struct.unpack("!HH", data[ihl + 4:ihl + 8])
            if ident == self.icmp_id and seq in self.sent and seq not in self.rtt:
                self.rtt[seq] = (time.monotonic() - self.sent[seq][1]) * 1000.0

    def run(self):
        seq = 0
        while not self.stop.is_set():
            seq = (seq + 1) & 0xFFFF
            self._send(seq)
            self._drain(time.monotonic() + PING_EVERY)
        self._drain(time.monotonic() + 2)
        self.sock.close()

    def series(self, phase, skip=0):
        """[round trip or None] for PINGS requests sent in `phase` at least EDGE s from its
        edges, after the first `skip` of them (fewer when the phase was too short)."""
        times = sorted((t, q) for q, (p, t) in self.sent.items() if p == phase)
        if not times:
            return []
        lo, hi = times[0][0] + EDGE, times[-1][0] - EDGE
        inner = [q for t, q in times if lo <= t <= hi]
        return [self.rtt.get(q) for q in inner[skip:skip + PINGS]]


def phase_of(console):
    """The guest's phase from its COM1 markers."""
    text = bx.read(console)
    return "done" if "E" in text else "busy" if "B" in text else "idle" if "I" in text else "boot"


def judge_series(phase, rtts, limit):
    n = len(rtts)
    if n < PINGS:
        return ["guest %s: only %d echo requests fit in the phase (want %d)" % (phase, n, PINGS)]
    lost = sum(1 for t in rtts if t is None)
    late = [t for t in rtts if t is not None and t > limit]
    out = []
    if lost:
        out.append("guest %s: %d of %d echo requests unanswered" % (phase, lost, n))
    if late:
        out.append("guest %s: %d of %d replies later than %.0f ms (max %.1f ms)"
                   % (phase, len(late), n, limit, max(late)))
    return out


def judge_phase(pinger, phase, limit):
    """(problems, note) for one phase: its first series, then, while a series failed only on
    lateness (a host stall), the next PINGS of the phase, up to SERIES in all."""
    rtts = pinger.series(phase)
    bad, note = judge_series(phase, rtts, limit), series_note(phase, rtts)
    for k in range(1, SERIES):
        if not bad or len(rtts) < PINGS or None in rtts:
            break
        rtts = pinger.series(phase, skip=k * PINGS)
        if len(rtts) < PINGS:
            break
        bad, note = judge_series(phase, rtts, limit), note + "; again " + series_note(phase, rtts)
    return bad, note


def series_note(phase, rtts):
    got = sorted(t for t in rtts if t is not None)
    if not got:
        return "%s: no replies" % phase
    return "%s: %d replies, median %.1f ms, max %.1f ms" % (phase, len(got), got[len(got) // 2], got[-1])


def run_clock(work):
    problems, notes = [], []
    net = nl.Net("bn").setup()
    pid, master, pinger = None, None, None
    try:
        iso, disk = build_inputs(work, net)
        pid, master, logs = start_bochs(work, net, iso, disk)
        t0 = time.monotonic()
        if not wait_log(logs["monitor"], r"net: monitor stack up", TIMEOUT - 30, pid):
            return ["the monitor's network never came up (monitor.log ends: %s)" % bx.tail(bx.read(logs["monitor"]))], notes
        pinger = Pinger(net, nm.STATIC_IP, lambda: phase_of(logs["console"]))
        pinger.start()
        marks = {}
        end = time.monotonic() + TIMEOUT - 30
        while time.monotonic() < end and not os.waitpid(pid, os.WNOHANG)[0]:
            ph = phase_of(logs["console"])
            marks.setdefault(ph, time.monotonic() - t0)
            if re.search(r"power-off: exit counts", bx.read(logs["monitor"])):
                break
            time.sleep(0.1)
        pinger.stop.set()
        pinger.join(5)
        if not re.search(r"power-off: exit counts", bx.read(logs["monitor"])):
            return ["the guest did not power off (monitor.log ends: %s)" % bx.tail(bx.read(logs["monitor"]))], notes
        time.sleep(2)  # the counter lines after it
        log = bx.read(logs["monitor"])
        m = CLOCK_RE.search(log)
        if not m:
            return ["no clock line at power-off (monitor.log ends: %s)" % bx.tail(log)], notes
        runs, latest, late = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if runs < MIN_RUNS:
            problems.append("only %d ticks in the guest's 38 s (want %d or more): %s" % (runs, MIN_RUNS, m.group(0)))
        if late:
            problems.append("%d ticks later than 10 ms: %s" % (late, m.group(0)))
        console = bx.read(logs["console"])
        if "P+" not in console:
            problems.append("the guest's ping of the host through the shared e1000 got no reply (COM1: %r)"
                            % console[:40])
        else:
            notes.append("guest ping of the host answered")
        with open(os.path.join(work, "pings.txt"), "w") as f:
            for q in sorted(pinger.sent):
                f.write("%d %s %.3f %s\n" % (q, pinger.sent[q][0], pinger.sent[q][1] - t0, pinger.rtt.get(q)))
        limit, speed = latency_limit(marks.get("done", 0) - marks.get("busy", 0))
        notes.append("Bochs at %.0f M insns/s, limit %.0f ms" % (speed, limit))
        for phase in ("idle", "busy"):
            bad, note = judge_phase(pinger, phase, limit)
            problems += bad
            notes.append(note)
        counts = re.search(r"power-off: exit counts (.*)", log)
        notes.append("phases at %s s" % ", ".join("%s %.0f" % kv for kv in sorted(marks.items(), key=lambda kv: kv[1])))
        notes.append("%d ticks, latest %.1f ms late; exits %s; %.0f s" % (runs, latest / 1000.0,
                     counts.group(1) if counts else "?", time.monotonic() - t0))
    except Exception as e:  # noqa: BLE001 -- report, never crash the suite
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if pinger:
            pinger.stop.set()
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


# The AoE boot: no local disk on the primary channel (the monitor emulates its master from the
# AoE target); the CD moves to the secondary channel.
AOE_BOCHSRC = BOCHSRC.replace("ata0-master: type=cdrom, path=%(iso)s, status=inserted\n", "").replace(
    "ata0-slave: type=disk, path=%(disk)s, mode=flat\n",
    "ata1: enabled=1, ioaddr1=0x170, ioaddr2=0x370, irq=15\nata1-master: type=cdrom, path=%(iso)s, status=inserted\n")
AOE_GUEST = os.path.join(nl.ROOT, "tests", "bochs", "aoe_guest.asm")
AOE_SHELF, AOE_SLOT = 1, 2
AOE_MARKS = [b"TVBOCHS-AOE-S1!!", b"TVBOCHS-AOE-S2!!", b"TVBOCHS-AOE-W3!!", b"TVBOCHS-AOE-D4!!"]
AOE_CONF = "\n[aoe]\nshelf = %d\nslot = %d\ntimeout_ms = 5000\n" % (AOE_SHELF, AOE_SLOT)


def aoe_image(work, path):
    """vblade's image: the guest's boot sector, sectors 1, 2 and 4 filled with their markers."""
    boot = os.path.join(work, "aoe_guest.bin")
    subprocess.run(["timeout", "30", "nasm", "-f", "bin", AOE_GUEST, "-o", boot], check=True)
    with open(boot, "rb") as f:
        sector = f.read()
    with open(path, "wb") as f:
        f.write(sector + AOE_MARKS[0] * 32 + AOE_MARKS[1] * 32 + bytes(512) + AOE_MARKS[3] * 32)
        f.truncate(4 << 20)


def run_aoe(work):
    """The guest boots from vblade's disk through the monitor's emulated IDE master, reads it
    by INT 13h and by PIO, and writes a sector that lands in vblade's image."""
    problems, notes = [], []
    net = nl.Net("ba").setup()
    pid, master = None, None
    try:
        image = net.path("server.img")
        aoe_image(work, image)
        net.spawn(["vblade", str(AOE_SHELF), str(AOE_SLOT), net.tap, image], TIMEOUT, "vblade.log")
        iso = build_iso(work, NET_CONF % (nm.MON_MAC, nm.STATIC_IP, net.host_ip) + AOE_CONF)
        pid, master, logs = start_bochs(work, net, iso, None, AOE_BOCHSRC)
        t0 = time.monotonic()
        end = r"power-off: exit counts|thinvisor: halted|guest is NOT booted|nothing to boot"
        if not wait_log(logs["monitor"], end, TIMEOUT - 30, pid):
            return ["the guest did not power off (monitor.log ends: %s)" % bx.tail(bx.read(logs["monitor"]))], notes
        time.sleep(2)
        log, console = bx.read(logs["monitor"]), bx.read(logs["console"])
        attach = re.search(r"aoe-disk: e%d\.%d at .*" % (AOE_SHELF, AOE_SLOT), log)
        if not attach:
            problems.append("the monitor did not attach the AoE disk (monitor.log: %s)"
                            % "; ".join(l for l in log.splitlines() if "aoe" in l)[:300])
        m = re.search(r"TV-AOE int13=(\w+)\s+pio=(\w+)\s+dma=(\w+)", console)
        if not m:
            problems.append("no TV-AOE line from the guest (COM1: %r)" % console[-200:])
        elif m.groups() != ("ok", "ok", "ok"):
            problems.append("the guest says %r, want int13=ok pio=ok dma=ok" % m.group(0))
        with open(image, "rb") as f:
            f.seek(3 * 512)
            if f.read(512) != AOE_MARKS[2] * 32:
                problems.append("the guest's PIO write of sector 3 is not in vblade's image")
        counts = re.search(r"power-off: exit counts (.*)", log)
        stats = re.search(r"aoe-disk: (\d+) commands .*", log)
        notes.append("%s; %s; exits %s; %.0f s" % (attach.group(0)[:60] if attach else "?",
                     stats.group(0)[:90] if stats else "?", counts.group(1) if counts else "?", time.monotonic() - t0))
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
    cases = [("clock", run_clock), ("aoe", run_aoe)]
    return nl.run_suite("bochs-net", __doc__.split("\n")[0], cases, LOGS)


if __name__ == "__main__":
    sys.exit(main())
