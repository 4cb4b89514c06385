#!/usr/bin/env python3
"""The VPN's guest side, fail-closed: the unmodified Linux guest behind the monitor's VPN policy
(a [vpn] section in thinvisor.conf) while the tunnel is down (IKE and ESP do not run in the
monitor yet: the tunnel is the fail-closed stub).

One boot on QEMU -machine pc, on a tap in a private network namespace, with a capture
(tcpdump -U --immediate-mode) on that tap, the outer link, from before the monitor starts:
- the guest's udhcpc gets the tunnel's inner address, the virtual gateway as router, the DNS
  server and the inner MTU, all from the monitor (nothing on the wire answers DHCP);
- its ARP for the virtual gateway is answered with the gateway's locally administered MAC;
- it pings an address beyond the gateway (the host's own address on the tap, so that a leak
  would even be answered) with a payload pattern, and sends its DHCP hostname as a marker;
  the pings are lost (the tunnel is down);
- the capture holds no frame from the guest's MAC or the gateway's, and neither marker: only
  the monitor's own frames (ARP, IPv4) and the host's;
- the monitor's drop counter (tunnel down) counts the pings, at power-off and through the
  hypercall device counters thinvisor-ctl reads in the guest.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on any failure. Needs root."""
import os
import re
import signal
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402

LOGS = os.path.join(nl.ROOT, "build", "test-results", "vpn_guest")
MON_MAC = "52:54:00:aa:bb:01"
GUEST_MAC = "52:54:00:12:34:56"
GATEWAY_MAC = "02:74:76:67:77:01"  # vpn/guest/guest_net.hpp kGatewayMac
INNER, GATEWAY, DNS = "10.99.0.5", "10.99.0.1", "10.99.0.53"
MARKER_HOST = "tvleak-7c1e9"       # the guest's DHCP hostname
PATTERN = 0x5A                      # the guest's ping payload byte
PINGS = 5
CONF = ("[network]\ndhcp = no\nmac = %s\naddress = 10.77.0.2\nnetmask = 255.255.255.0\ngateway = 10.77.0.1\n"
        "[vpn]\ngateway = 10.77.0.1:4500\nlocal_id = client@thinvisor.test\nremote_id = gw.thinvisor.test\n"
        "auth = psk\npsk = vpn.psk\ninner_address = %s/24\ndns = %s\n" % (MON_MAC, INNER, DNS))
# udhcpc's script: configure the lease and print what it got, on one line.
DHCP_SCRIPT = ("#!/bin/sh\n[ \"$1\" = bound ] || exit 0\nip addr add $ip/$mask dev $interface\n"
               "ip link set dev $interface mtu ${mtu:-1500}\nip route add default via $router\n"
               "echo \"TVLEASE ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu lease=$lease\"\n")


def read_pcap(path):
    """The frames of a pcap file (Ethernet link type), as bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" or data[:4] == b"\x4d\x3c\xb2\xa1" else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def capture_problems(frames):
    """What in the capture is the guest's: its MACs, its markers; the monitor's frames are ARP or IPv4."""
    guest, gw, mon = (nl.mac_bytes(m) for m in (GUEST_MAC, GATEWAY_MAC, MON_MAC))
    problems = []
    pattern = bytes([PATTERN]) * 32
    for i, f in enumerate(frames):
        if len(f) < 14:
            continue
        src, kind = f[6:12], struct.unpack("!H", f[12:14])[0]
        why = None
        if src == guest:
            why = "a frame from the guest's MAC"
        elif src == gw:
            why = "a frame from the virtual gateway's MAC"
        elif MARKER_HOST.encode() in f:
            why = "the guest's DHCP hostname marker"
        elif pattern in f:
            why = "the guest's ping payload pattern"
        elif src == mon and kind not in (0x0806, 0x0800):
            why = "a monitor frame of ethertype %#x" % kind
        if why:
            problems.append("capture frame %d: %s (%s)" % (i, why, f[:42].hex()))
    return problems


def stop(p):
    """Stops tcpdump with SIGINT so that it closes its file, then makes sure it is gone."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGINT)
            p.wait(10)
        except (ProcessLookupError, OSError):
            pass
        except Exception:  # noqa: BLE001 -- a hung tcpdump is killed below
            pass
    nl.kill_group(p)


def run_fail_closed(work):
    problems, notes = [], []
    net = nl.Net("vg").setup()
    g = dump = None
    try:
        pcap = os.path.join(work, "outer.pcap")
        dump = net.spawn(["tcpdump", "-U", "--immediate-mode", "-n", "-Z", "root", "-i", net.tap, "-w", pcap],
                         900, "tcpdump.log")
        time.sleep(2)
        psk = os.path.join(work, "vpn.psk")
        with open(psk, "w") as f:
            f.write("not-a-real-secret-for-this-test\n")
        g = nl.Guest(net, work, conf_text=CONF, machine="pc", guest_mac=GUEST_MAC, timeout=900, modules=(psk,))
        if not g.wait_shell(300):
            return ["the guest did not reach its shell (console tail %r)" % g.console[-500:]], notes
        g.run("cat > /tmp/dhcp.sh <<'EOF'\n%sEOF\nchmod +x /tmp/dhcp.sh" % DHCP_SCRIPT, 30)
        out, rc = g.run("ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 -F %s -O mtu -s /tmp/dhcp.sh 2>&1"
                        % MARKER_HOST, 120)
        m = re.search(r"TVLEASE ip=(\S*) mask=(\S*) router=(\S*) dns=(\S*) mtu=(\S*) lease=(\S*)", out)
        want = (INNER, "24", GATEWAY, DNS, "1438", "3600")
        if rc != 0 or not m or m.groups() != want:
            return ["DHCP from the monitor: %r, want %s" % (m.groups() if m else out[-400:], want)], notes
        notes.append("dhcp %s/24 router %s dns %s mtu 1438" % (INNER, GATEWAY, DNS))
        out, rc = g.run("ping -c %d -W 2 -p %02x -s 200 10.77.0.1" % (PINGS, PATTERN), 60)
        if " 0 packets received" not in out:
            problems.append("a ping went through a tunnel that is down: %r" % out[-300:])
        out, rc = g.run("ip neigh show %s" % GATEWAY, 30)
        if GATEWAY_MAC not in out.lower():
            problems.append("the guest's ARP for the gateway was not answered: %r" % out)
        else:
            notes.append("gateway ARP answered")
        out, rc = g.run("thinvisor-ctl device-counters | grep '^vpn-'", 30)
        m = re.search(r"^vpn-tunnel-down (\d+)$", out, re.M)
        if not m or int(m.group(1)) < PINGS:
            problems.append("thinvisor-ctl shows vpn-tunnel-down %s, want >= %d: %r"
                            % (m.group(1) if m else None, PINGS, out[-300:]))
        else:
            notes.append("thinvisor-ctl vpn-tunnel-down %s" % m.group(1))
        log = g.power_off(120)
        g.save_console()
        time.sleep(1)
        stop(dump)
        with open(os.path.join(work, "monitor.log"), "w") as f:
            f.write(log)
        if "vpn: guest side on: guest %s/24, virtual gateway %s" % (INNER, GATEWAY) not in log:
            problems.append("monitor.log lacks the VPN policy's installation line")
        m = re.search(r"vpn: guest side dropped tunnel-down: (\d+)", log)
        if not m or int(m.group(1)) < PINGS:
            problems.append("power-off counters: tunnel-down %s, want >= %d" % (m.group(1) if m else None, PINGS))
        else:
            notes.append("tunnel-down %s at power-off" % m.group(1))
        m = re.search(r"nic \S+ counters: switch: .*guest->wire \(copied\) (\d+)", log)
        if not m or m.group(1) != "0":
            problems.append("the switch counted guest->wire %s" % (m.group(1) if m else "?"))
        frames = read_pcap(pcap)
        if not frames:
            problems.append("the capture is empty (tcpdump: %s)" % open(net.path("tcpdump.log")).read()[-200:])
        bad = capture_problems(frames)
        if bad:
            problems.append("%d guest frames on the outer link: %s" % (len(bad), "; ".join(bad[:3])))
        else:
            notes.append("%d frames captured on the outer link, none of the guest's" % len(frames))
    except Exception as e:  # noqa: BLE001 -- report, never crash the suite
        problems.append("%s: %s" % (type(e).__name__, e))
    finally:
        if g:
            g.kill()
        if dump:
            stop(dump)
        net.cleanup()
    return problems, notes


def main():
    return nl.run_suite("vpn-guest", __doc__.split("\n")[0], [("fail-closed", run_fail_closed)], LOGS)


if __name__ == "__main__":
    sys.exit(main())
