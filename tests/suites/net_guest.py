#!/usr/bin/env python3
"""The e1000 mediator end to end: the demo guest's unmodified Linux e1000 driver on a tap in a
private network namespace, under thinvisor with a [network] section (so the NIC is mediated),
on QEMU -machine pc and q35.

Per machine: the guest gets its address by DHCP (busybox udhcpd on the host side), pings the
host, and sends 50 MiB of random data over TCP to a host listener (sha256 compared on both
sides). During the transfer the host exchanges net_echo frames (ethertype 0x88B5, short and
full-size) with the monitor's MAC through a raw socket: every one must come back from the
monitor's MAC, and the guest must never see them (its dropped/no-handler counters move only
by the control frames sent to the guest's own MAC with the same ethertype). Then the guest's
driver resets the NIC (ifdown/ifup) while echoes continue: ping and every echo must still work.
Beside all this the monitor's own network stack runs on a static address: the host pings it
during the transfer, the monitor pings the guest once a second from boot on (`[network]
ping`, replies counted at power-off), and its log lines (the guest's NIC reset, power-off) arrive at a host
syslog listener. The monitor's log must show the mediation, the counters at power-off, and no
refusals.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on any failure. --only SUBSTRING picks
tests (net-guest-pc, net-guest-q35, net-guest-unmediated: the same guest without [network], where
the NIC must stay unhooked). Needs root (namespaces, tap, raw sockets)."""
import hashlib
import os
import re
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402

LOGS = os.path.join(nl.ROOT, "build", "test-results", "net_guest")
MON_MAC = "52:54:00:aa:bb:01"
GUEST_MAC = "52:54:00:12:34:56"
MON_IP = "10.77.0.2"
SYSLOG_PORT = 5514
# The monitor's own stack runs beside the guest: a static address, its log exported by syslog.
# The monitor pings the guest's address (udhcpd's only lease) once a second from boot on.
GUEST_IP = "10.77.0.50"
CONF = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = 10.77.0.1\n"
        "syslog = 10.77.0.1:%d\nping = %s\n" % (MON_MAC, MON_IP, SYSLOG_PORT, GUEST_IP))
UNMEDIATED_CONF = "[pci]\nallow_dma = 8086:100e\n"
ETH_ECHO = 0x88B5
BULK_MB = 50
PORT = 5001
CONTROL_FRAMES = 5


class Listener(threading.Thread):
    """Accepts one TCP connection in the namespace and hashes what it receives."""

    def __init__(self, net, nbytes):
        super().__init__(daemon=True)
        self.s = net.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.s.bind((net.host_ip, PORT))
        self.s.listen(1)
        self.s.settimeout(900)
        self.nbytes, self.got, self.digest, self.error = nbytes, 0, None, None
        self.started = threading.Event()

    def run(self):
        try:
            c, _ = self.s.accept()
            self.started.set()
            c.settimeout(120)
            h = hashlib.sha256()
            while self.got < self.nbytes:
                data = c.recv(1 << 20)
                if not data:
                    break
                h.update(data)
                self.got += len(data)
            self.digest = h.hexdigest()
            c.close()
        except OSError as e:
            self.error = str(e)
        finally:
            self.s.close()


class Echoer(threading.Thread):
    """Sends net_echo frames to the monitor's MAC (and a few to the guest's) while `running`."""

    def __init__(self, net):
        super().__init__(daemon=True)
        self.raw = nl.RawSocket(net, ETH_ECHO)
        self.mon, self.guest = nl.mac_bytes(MON_MAC), nl.mac_bytes(GUEST_MAC)
        self.sent, self.back, self.bad = 0, 0, []
        self.pending = {}
        self.stop = threading.Event()
        self.lock = threading.Lock()

    def frame(self, dst, seq):
        payload = struct.pack("!I", seq) + b"tv-echo"
        size = (18, 60, 1514, 200)[seq % 4]  # 18: shorter than Ethernet's minimum, as vblade's replies
        body = (payload * (size // len(payload) + 1))[:size - 14]
        return dst + self.raw.mac + struct.pack("!H", ETH_ECHO) + body

    def run(self):
        rx = threading.Thread(target=self.receive, daemon=True)
        rx.start()
        for i in range(CONTROL_FRAMES):
            self.raw.send(self.frame(self.guest, 1000000 + i))
        seq = 0
        while not self.stop.is_set():
            f = self.frame(self.mon, seq)
            with self.lock:
                self.pending[seq] = f
            self.raw.send(f)
            self.sent += 1
            seq += 1
            time.sleep(0.02)
        end = time.monotonic() + 20
        while self.pending and time.monotonic() < end:
            time.sleep(0.1)
        self.stop_rx = True
        rx.join(2)

    def receive(self):
        self.stop_rx = False
        while not self.stop_rx:
            p = self.raw.recv(0.2)
            if p is None or len(p) < 18 or p[:6] != self.raw.mac:
                continue
            seq = struct.unpack("!I", p[14:18])[0]
            with self.lock:
                want = self.pending.pop(seq, None)
            if want is None:
                self.bad.append("unexpected echo seq %d" % seq)
            elif p[6:12] != self.mon:
                self.bad.append("echo %d came from %s" % (seq, p[6:12].hex(":")))
            elif p[12:len(want)] != want[12:]:
                self.bad.append("echo %d differs (%d bytes back, %d sent)" % (seq, len(p), len(want)))
            else:
                self.back += 1


def guest_drops(g):
    out, rc = g.run("cat /sys/class/net/eth0/statistics/rx_dropped /sys/class/net/eth0/statistics/rx_nohandler")
    nums = [int(x) for x in re.findall(r"^\d+$", out, re.M)]
    return sum(nums) if rc == 0 and len(nums) == 2 else None


def run_machine(machine, work):
    problems, notes = [], []
    net = nl.Net("ng").setup()
    g = syslog = None
    try:
        net.udhcpd(first=GUEST_IP, last=GUEST_IP)  # the one address the monitor pings
        syslog = nl.SyslogListener(net, SYSLOG_PORT)
        syslog.start()
        lis = Listener(net, BULK_MB << 20)
        lis.start()
        g = nl.Guest(net, work, conf_text=CONF, machine=machine, guest_mac=GUEST_MAC, append="net_echo=1",
                     timeout=1500)
        if not g.wait_shell(300):
            return ["the guest did not reach its shell (console tail %r)" % g.console[-500:]], notes
        ip = g.dhcp(90)
        if not ip:
            return ["no DHCP lease (console tail %r)" % g.console[-800:]], notes
        notes.append("dhcp %s" % ip)
        if ip != GUEST_IP:
            problems.append("the guest's lease is %s, not %s, which the monitor pings" % (ip, GUEST_IP))
        out, rc = g.run("ping -c 3 -W 3 %s" % net.host_ip, 60)
        if rc != 0 or "3 packets received" not in out:
            problems.append("ping of the host failed: %r" % out[-300:])
        # The guest and the monitor share the NIC: their frames meet inside the mediator's
        # frame switch (the wire never carries them back to the same NIC).
        out, rc = g.run("ping -c 3 -W 3 %s" % MON_IP, 60)
        if rc != 0 or "3 packets received" not in out:
            problems.append("the guest's ping of the monitor (%s) failed: %r" % (MON_IP, out[-300:]))
        else:
            notes.append("guest pinged the monitor 3/3")
        out, rc = g.run("dd if=/dev/urandom of=/tmp/blob bs=1M count=%d 2>/dev/null; sha256sum /tmp/blob" % BULK_MB,
                        600)
        m = re.search(r"\b([0-9a-f]{64})\b", out)
        if rc != 0 or not m:
            return problems + ["could not make the test file: %r" % out[-300:]], notes
        want = m.group(1)
        before = guest_drops(g)
        echo = Echoer(net)
        echo.start()
        # The monitor answers its own ping on the same NIC while the guest's transfer runs.
        pinger = net.spawn(["busybox", "ping", "-c", "10", "-w", "600", MON_IP], 620, "ping-monitor.log")
        t0 = time.monotonic()
        out, rc = g.run("nc %s %d < /tmp/blob" % (net.host_ip, PORT), 900)
        secs = time.monotonic() - t0
        lis.join(120)
        echo.stop.set()
        echo.join(30)
        pinger.wait(120)
        with open(net.path("ping-monitor.log")) as f:
            pinged = f.read()
        if "10 packets received" not in pinged:
            problems.append("the monitor's own address did not answer 10 pings during the transfer: %r"
                            % pinged.strip()[-200:])
        else:
            notes.append("monitor pinged 10/10 during the transfer")
        after = guest_drops(g)
        if lis.error or lis.got != BULK_MB << 20 or lis.digest != want:
            problems.append("TCP transfer: %d of %d bytes, sha256 %s vs guest %s (%s, nc rc %s)"
                            % (lis.got, BULK_MB << 20, lis.digest, want, lis.error, rc))
        else:
            notes.append("%d MiB TCP in %.0f s, sha256 ok" % (BULK_MB, secs))
        if echo.bad:
            problems.append("echo: %s" % "; ".join(echo.bad[:5]))
        if echo.sent < 20 or echo.pending:
            problems.append("echo: %d sent, %d never came back" % (echo.sent, len(echo.pending)))
        else:
            notes.append("%d/%d echoes" % (echo.back, echo.sent))
        if before is None or after is None or after - before != CONTROL_FRAMES:
            problems.append("the guest's drop counters moved by %s, want %d (only the control frames)"
                            % (None if before is None or after is None else after - before, CONTROL_FRAMES))
        # The guest's driver resets the NIC on ifdown/ifup: the monitor's path must survive it.
        echo2 = Echoer(net)
        echo2.start()
        out, rc = g.run("ip link set eth0 down; ip link set eth0 up; sleep 4; ping -c 3 -W 3 %s" % net.host_ip, 90)
        echo2.stop.set()
        echo2.join(30)
        if rc != 0 or "3 packets received" not in out:
            problems.append("ping after the guest's NIC reset failed: %r" % out[-300:])
        if echo2.bad or echo2.pending or echo2.sent < 5:
            problems.append("echo around the guest's NIC reset: %d sent, %d lost, %s"
                            % (echo2.sent, len(echo2.pending), "; ".join(echo2.bad[:3])))
        else:
            notes.append("%d echoes across a guest NIC reset" % echo2.sent)
        log = g.power_off(120)
        g.save_console()
        with open(os.path.join(work, "monitor.log"), "w") as f:
            f.write(log)
        if "e1000 mediated, monitor MAC %s" % MON_MAC not in log:
            problems.append("monitor.log lacks the mediation line")
        m = re.search(r"nic \S+ counters: switch: wire->guest (\d+), wire->monitor (\d+), guest->monitor (\d+), "
                      r"monitor->guest (\d+)", log)
        if not m:
            problems.append("monitor.log has no NIC counters at power-off")
        elif int(m.group(2)) < echo.sent + echo2.sent:
            problems.append("the monitor counted %s frames of its own, %d echoes were sent" % (m.group(2), echo.sent))
        elif int(m.group(3)) < 3 or int(m.group(4)) < 3:
            problems.append("the switch counted %s guest->monitor and %s monitor->guest frames, want 3 pings each way"
                            % (m.group(3), m.group(4)))
        # Log lines made while the guest networks (its NIC reset) and at power-off reach the host.
        for line in ("at guest reset", "power-off: exit counts"):
            if not syslog.wait_for(re.escape(line), 10):
                problems.append("the monitor's '%s' line did not arrive by syslog" % line)
        # The monitor's own pings of the guest, through the frame switch the other way.
        m = re.search(r"net: ping %s: (\d+) sent, (\d+) replies" % re.escape(GUEST_IP), log)
        if not m or int(m.group(2)) < 10 or "net: ping %s: first reply" % GUEST_IP not in log:
            problems.append("the monitor's pings of the guest: %r" % (m.group(0) if m else None))
        else:
            notes.append("monitor pinged the guest: %s sent, %s replies" % (m.group(1), m.group(2)))
        refused = [l for l in log.splitlines() if "nic: refused" in l]
        if refused:
            problems.append("refusals: %s" % " | ".join(refused[:3]))
    except Exception as e:  # noqa: BLE001 -- report, never crash the suite
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if g:
            g.kill()
        if syslog:
            syslog.close()
        net.cleanup()
    return problems, notes


def run_unmediated(work):
    """Without [network] the NIC is pure pass-through: no hook, no exits, the guest still works."""
    problems, notes = [], []
    net = nl.Net("nu").setup()
    g = None
    try:
        net.udhcpd()
        # No mediator owns the e1000 without [network]: without an IOMMU its DMA needs an
        # allow_dma line (the bus-master policy, docs/security.md), which states the risk.
        g = nl.Guest(net, work, conf_text=UNMEDIATED_CONF, machine="pc", guest_mac=GUEST_MAC, timeout=600)
        if not g.wait_shell(300):
            return ["the guest did not reach its shell"], notes
        ip = g.dhcp(90)
        out, rc = g.run("ping -c 2 -W 3 %s" % net.host_ip, 60) if ip else ("", None)
        if not ip or rc != 0:
            problems.append("no DHCP lease or ping without mediation (%r)" % out[-200:])
        else:
            notes.append("dhcp %s and ping without [network]" % ip)
        log = g.power_off(120)
        with open(os.path.join(work, "monitor.log"), "w") as f:
            f.write(log)
        if "power-off" not in log:
            problems.append("monitor.log has no power-off line")
        if re.search(r"e1000-mediator|e1000 mediated|e1000-io|nic: ", log):
            problems.append("the NIC was hooked without a [network] section")
        else:
            notes.append("no NIC hooks")
    except Exception as e:  # noqa: BLE001
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if g:
            g.kill()
        net.cleanup()
    return problems, notes


def main():
    cases = [("pc", lambda w: run_machine("pc", w)), ("q35", lambda w: run_machine("q35", w)),
             ("unmediated", run_unmediated)]
    return nl.run_suite("net-guest", __doc__.split("\n")[0], cases, LOGS)


if __name__ == "__main__":
    sys.exit(main())
