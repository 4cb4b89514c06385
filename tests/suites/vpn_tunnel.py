#!/usr/bin/env python3
"""The VPN tunnel in the monitor (vpn/monitor/) with the unmodified Linux guest, against
strongSwan's charon (kernel-libipsec) as the gateway: IKE and ESP in UDP run in the monitor,
the guest only sees DHCP, a virtual gateway and a LAN behind it.

ONE guest boot (QEMU -machine pc, e1000 on a tap in a private namespace that also holds the
gateway) carries every check, in this order:
- gateway_absent_fail_closed: charon is not running at boot: the guest gets its DHCP lease from
  the monitor (the tunnel's inner address), its pings to the server behind the gateway are lost
  and counted as vpn-tunnel-down, and the monitor keeps retransmitting IKE_SA_INIT;
- wrong_psk_refused: charon starts with another PSK: the monitor logs AUTHENTICATION_FAILED, the
  guest still has no connectivity;
- comes_up_by_itself: charon restarts with the right PSK: the tunnel comes up with no help (the
  monitor's retries), charon lists the IKE and ESP-in-UDP SAs;
- second_gateway_when_first_silent: thinvisor.conf names a silent gateway first: the monitor
  tries it, moves on to charon's after 10 s, and the tunnel comes up there;
- ping_server: the guest pings the server behind the gateway through the tunnel;
- tcp_echo: a TCP echo service on the server returns the guest's marker line;
- tcp_64mib_across_rekeys: 64 MiB over TCP from the guest to the server, equal sha256 on both
  ends, while the child SA (20 s lifetime in thinvisor.conf) and the IKE SA (30 s) are rekeyed:
  no connection lost;
- ctl_vpn: `thinvisor-ctl vpn` in the guest shows the state, the gateway, the SPIs (those charon
  lists), packets and bytes each way, every drop counter (`expired` too), rekeys, the last error
  by a name of include/thinvisor/vpn_codes.h; no key charon derived;
- bad_packets_dropped: from the gateway's namespace, UDP to the monitor's port 4500: an unknown
  SPI, a truncated packet, a bad ICV, a replayed ESP packet (from the capture), bad padding (with
  a valid ICV, the key from charon's log), IKE with a bad length, an unknown critical payload,
  and a retransmitted response: each counted under its own counter, and the tunnel still works;
- nothing_in_clear: a capture on the outer link (the tap, from before the boot) holds only IKE,
  ESP in UDP, ARP and the gateway's ICMP, no frame from the guest's or the virtual gateway's MAC,
  and none of the guest's payload markers; the server did receive them;
- guest_tso_segmented: the guest sends with TSO on (its driver's default), and the NIC's
  counters (logged at the driver's reset) show its TSO packets cut into frames in copy-out
  (drivers/nic/tx_tso);
- delete_at_reboot: the guest reboots (`reboot -f`: the kernel's e1000 shutdown, which resets
  the NIC and clears its bus mastering, then the reset itself, through the keyboard controller
  or port CF9; QEMU runs with -no-reboot and exits there): the monitor sends an INFORMATIONAL
  Delete of the IKE SA before the reset goes through, charon logs "received DELETE for IKE_SA"
  (charon runs no DPD here: dpd_delay = 0) and lists no SA any more. The Delete at the guest's
  power-off (the ACPI S5 write, the same hook) is vpn_tunnel_cert.py's
  cert_key_freed_at_power_off.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on any failure. Needs root. Every namespace,
veth, tap and daemon it creates is removed on exit, also after a failure or a signal."""
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402
import _vpn_wire as wire  # noqa: E402
from _vpn_wire import read_pcap, start_charon, stop_capture, swanctl, udp_of  # noqa: E402

LOGS = os.path.join(nl.ROOT, "build", "test-results", "vpn_tunnel")
CHARON = "/usr/lib/ipsec/charon"
PID = os.getpid()
MON_MAC, GUEST_MAC = "52:54:00:aa:bb:02", "52:54:00:12:34:57"
GATEWAY_MAC = "02:74:76:67:77:01"  # vpn/guest/guest_net.hpp kGatewayMac
GW_IP, MON_IP = "10.77.0.1", "10.77.0.2"
DEAD_GW = "10.77.0.9"  # the first gateway in thinvisor.conf: nothing answers there
GW_LAN, SERVER = "10.2.0.1", "10.2.0.2"
INNER, VGW, DNS = "10.3.0.10", "10.3.0.1", "10.3.0.53"
CLIENT_ID, GW_ID = "client@thinvisor.test", "gw.thinvisor.test"
ECHO_PORT, BULK_PORT = 7007, 9000
BULK_MB = 64
PATTERN = 0x5A  # the guest's ping payload byte
MARK = "TVMARK-%d-c3a9" % PID  # the guest's TCP echo line
CHECKS = ["gateway_absent_fail_closed", "wrong_psk_refused", "comes_up_by_itself", "second_gateway_when_first_silent",
          "ping_server", "tcp_echo",
          "tcp_64mib_across_rekeys", "ctl_vpn", "bad_packets_dropped", "nothing_in_clear", "guest_tso_segmented",
          "delete_at_reboot"]

CONF = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
        "[vpn]\ngateway = %s, %s\nlocal_id = %s\nremote_id = %s\nauth = psk\npsk = vpn.psk\n"
        "inner_address = %s/24\ndns = %s\ndpd_interval = 10\nchild_lifetime = 20\nike_lifetime = 30\n"
        % (MON_MAC, MON_IP, GW_IP, DEAD_GW, GW_IP, CLIENT_ID, GW_ID, INNER, DNS))
DHCP_SCRIPT = ("#!/bin/sh\n[ \"$1\" = bound ] || exit 0\nip addr add $ip/$mask dev $interface\n"
               "ip link set dev $interface mtu ${mtu:-1500}\nip route add default via $router\n"
               "echo \"TVLEASE ip=$ip mask=$mask router=$router dns=$dns mtu=$mtu\"\n")

STRONGSWAN_CONF = """charon {
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 x509 pubkey curve25519 gmp kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  filelog {
    main {
      path = %(dir)s/charon.log
      default = 1
      ike = 2
      chd = 4
      flush_line = yes
      time_format = %%T
    }
  }
  plugins {
    vici {
      socket = unix://%(dir)s/charon.vici
    }
  }
}
"""
SWANCTL_CONF = """connections {
  tv {
    version = 2
    local_addrs = %(gw)s
    proposals = aes256gcm16-aes128gcm16-prfsha256-x25519-ecp256-modp2048
    pools = vips
    dpd_delay = 0
    local {
      auth = psk
      id = %(gw_id)s
    }
    remote {
      auth = psk
      id = %(client_id)s
    }
    children {
      net {
        local_ts = 0.0.0.0/0
        esp_proposals = aes256gcm16-aes128gcm16
      }
    }
  }
}
pools {
  vips {
    addrs = %(inner)s
    dns = %(dns)s
  }
}
secrets {
  ike-tv {
    id-client = %(client_id)s
    id-gw = %(gw_id)s
    secret = "%(psk)s"
  }
}
"""


class Server(wire.Server):
    """The corporate LAN's services (_vpn_wire.Server) on SERVER's echo and bulk ports."""

    def __init__(self, ns):
        super().__init__(ns, SERVER, ECHO_PORT, BULK_PORT)


class Env:
    """The outer link (nl.Net: namespace + tap, 10.77.0.1 = the gateway), charon in it, the
    server namespace behind it on a veth pair, a capture on the tap."""

    def __init__(self):
        self.net = nl.Net("vt", host_ip=GW_IP)
        self.srv_ns = ("tvvs%d" % PID)[:15]
        self.charon = None
        self.dump = None
        self.server = None
        self.up = False
        self.psk = "tv-tunnel-%d-%s" % (PID, os.urandom(6).hex())

    def setup(self, work):
        self.work = work
        self.net.setup()
        self.up = True
        nl._ALL.append(self)
        ns = self.net.ns
        nl.sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        nl.sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        nl.sh("ip", "netns", "add", self.srv_ns)
        nl.sh("ip", "-n", self.srv_ns, "link", "set", "lo", "up")
        a, b = ("tvvl%d" % PID)[:15], ("tvvr%d" % PID)[:15]
        nl.sh("ip", "link", "add", a, "netns", ns, "type", "veth", "peer", "name", b, "netns", self.srv_ns)
        nl.sh("ip", "-n", ns, "addr", "add", GW_LAN + "/24", "dev", a)
        nl.sh("ip", "-n", ns, "link", "set", a, "up")
        nl.sh("ip", "-n", self.srv_ns, "addr", "add", SERVER + "/24", "dev", b)
        nl.sh("ip", "-n", self.srv_ns, "link", "set", b, "up")
        nl.sh("ip", "-n", self.srv_ns, "route", "add", "default", "via", GW_LAN)
        with open(self.path("strongswan.conf"), "w") as f:
            f.write(STRONGSWAN_CONF % {"dir": self.net.tmp})
        self.server = Server(self.srv_ns)
        self.server.start()
        self.pcap = os.path.join(work, "outer.pcap")
        self.dump = self.net.spawn(["tcpdump", "-U", "--immediate-mode", "-n", "-Z", "root", "-i", self.net.tap,
                                    "-w", self.pcap], 1700, "tcpdump.log")

    def path(self, name):
        return self.net.path(name)

    def start_charon(self, psk):
        self.charon = start_charon(self.net.ns, self.path("strongswan.conf"), self.path("charon.vici"),
                                   self.path("charon.out"))
        with open(self.path("swanctl.conf"), "w") as f:
            f.write(SWANCTL_CONF % {"gw": GW_IP, "gw_id": GW_ID, "client_id": CLIENT_ID, "psk": psk,
                                    "inner": INNER, "dns": DNS})
        self.swanctl("--load-all", "--clear", "--file", self.path("swanctl.conf"))

    def stop_charon(self):
        nl.kill_group(self.charon)
        self.charon = None
        try:
            os.unlink(self.path("charon.vici"))
        except OSError:
            pass

    def swanctl(self, *args):
        return swanctl(self.path("charon.vici"), *args)

    def charon_log(self):
        try:
            with open(self.path("charon.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop_dump(self):
        stop_capture(self.dump)

    def cleanup(self):
        if not self.up:
            return
        self.up = False
        if self in nl._ALL:
            nl._ALL.remove(self)
        self.stop_dump()
        self.stop_charon()
        if self.server:
            self.server.close()
        for name in ("charon.log", "swanctl.conf", "tcpdump.log"):
            if self.net.tmp and os.path.exists(self.path(name)):
                shutil.copy(self.path(name), os.path.join(self.work, name))
        subprocess.run(["timeout", "10", "ip", "netns", "del", self.srv_ns], stderr=subprocess.DEVNULL)
        self.net.cleanup()


def start_guest(net, work, **kw):
    """nl.Guest, started again once if its console socket refused the connection (_netlib
    connects as soon as QEMU's socket file appears, which can race QEMU's listen)."""
    try:
        return nl.Guest(net, work, **kw)
    except ConnectionRefusedError:
        for p in list(net.procs):
            if p.poll() is None and "qemu-system-x86_64" in " ".join(p.args):
                nl.kill_group(p)
        time.sleep(1)
        return nl.Guest(net, work, **kw)


# ---- checks on what the monitor and the guest report -----------------------------------------

def ctl_vpn(g):
    """`thinvisor-ctl vpn` in the guest as a dict (and the raw text)."""
    out, rc = g.run("thinvisor-ctl vpn", 60)
    d = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            d[parts[0]] = parts[1]
    return d, out, rc


# What the issue asks `thinvisor-ctl vpn` to show beyond state, gateway and SPIs: packets and
# bytes each way, the ESP drops by reason (an SA past its hard lifetime, `expired`, too), the
# trap layer's and IKE's, rekeys, the last error.
CTL_KEYS = ("pkts-out", "bytes-out", "pkts-in", "bytes-in", "unknown-spi", "truncated", "replay", "bad-icv",
            "bad-padding", "bad-next-hdr", "bad-inner", "expired", "dummy", "udp-bad", "not-gateway", "no-next-hop",
            "wire-full", "seal-refused", "ike-bad", "ike-ignored", "ike-foreign", "child-rekeys", "ike-rekeys",
            "last-error", "ike-spi-i", "ike-spi-r", "spi-in", "spi-out")


def vpn_codes():
    """The error and state names thinvisor-ctl prints, from the list it is built from."""
    with open(os.path.join(nl.ROOT, "include", "thinvisor", "vpn_codes.h")) as f:
        text = f.read()
    def names(macro):
        body = text[text.index("#define %s(X)" % macro):]
        body = body[:body.index("\n\n")]
        return re.findall(r'X\(\w+, "([^"]+)"\)', body)
    return names("TV_VPN_ERRORS"), names("TV_VPN_STATES")


def wait_log(g, pattern, seconds, start=0):
    """The first match of pattern in the monitor's log (from offset start) within seconds."""
    rx = re.compile(pattern)
    end = time.monotonic() + seconds
    while True:
        m = rx.search(g.monitor_log(), start)
        if m or time.monotonic() > end:
            return m
        time.sleep(0.5)


def pings(g, count, extra=""):
    out, _ = g.run("ping -c %d -W 2 %s %s" % (count, extra, SERVER), 30 + 3 * count)
    m = re.search(r"(\d+) packets received", out)
    return int(m.group(1)) if m else -1, out


# ---- packets from the network ------------------------------------------------------------------

def check_bad_packets(env, g):
    """_vpn_wire.check_bad_packets from the gateway's address to the monitor's."""
    return wire.check_bad_packets(env, g, GW_IP, MON_IP, ctl_vpn, pings)


# ---- the capture ---------------------------------------------------------------------------

def capture_problems(frames, gateways=(GW_IP,)):
    """Frames that are not the monitor's IKE/ESP/ARP, a gateway's, or that carry a marker."""
    guest, vgw, mon = (nl.mac_bytes(m) for m in (GUEST_MAC, GATEWAY_MAC, MON_MAC))
    pattern, mark = bytes([PATTERN]) * 32, MARK.encode()
    problems = []
    for i, f in enumerate(frames):
        if len(f) < 14:
            continue
        src, kind = f[6:12], struct.unpack("!H", f[12:14])[0]
        u = udp_of(f)
        why = None
        if src in (guest, vgw):
            why = "a frame from the guest's or the virtual gateway's MAC"
        elif pattern in f or mark in f:
            why = "a guest payload marker in clear"
        elif kind == 0x0806:
            pass
        elif kind != 0x0800:
            why = "ethertype %#x" % kind
        elif u and {u[2], u[3]} & {500, 4500} and MON_IP in (u[0], u[1]) and {u[0], u[1]} - {MON_IP} <= set(gateways):
            pass
        elif u and {u[2], u[3]} <= {67, 68} and src == mon:
            pass
        elif f[23] == 1 and src != mon:
            pass  # the gateway's ICMP (port unreachable while charon is down)
        elif f[23] == 2 and src not in (mon, guest, vgw):
            pass  # a gateway namespace's IGMP report as its link comes back up (vpn_failover)
        else:
            why = "IPv4 protocol %d %s" % (f[23], u[:4] if u else "")
        if why:
            problems.append("frame %d: %s (%s)" % (i, why, f[:42].hex()))
    return problems


# ---- the run ---------------------------------------------------------------------------------

class Run:
    """The one boot and the results of its checks, in order."""

    def __init__(self, env, work):
        self.env, self.work = env, work
        self.results = {}  # check -> (problem or None, note)
        self.g = None

    def report(self, name, problem, note=""):
        self.results[name] = (problem, note)

    def boot(self):
        psk = os.path.join(self.work, "vpn.psk")
        with open(psk, "w") as f:
            f.write(self.env.psk + "\n")
        self.g = start_guest(self.env.net, self.work, conf_text=CONF, machine="pc", guest_mac=GUEST_MAC, timeout=1700,
                          modules=(psk,))
        if not self.g.wait_shell(400):
            raise RuntimeError("the guest did not reach its shell (console tail %r)" % self.g.console[-300:])
        g = self.g
        g.run("cat > /tmp/dhcp.sh <<'EOF'\n%sEOF\nchmod +x /tmp/dhcp.sh" % DHCP_SCRIPT, 30)
        # The guest's TSO stays on (its driver's default): copy-out cuts its packets into frames
        # (drivers/nic/tx_tso), which guest_tso_segmented checks at power-off.
        out, rc = g.run("ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 -O mtu -s /tmp/dhcp.sh 2>&1", 120)
        m = re.search(r"TVLEASE ip=(\S*) mask=(\S*) router=(\S*) dns=(\S*) mtu=(\S*)", out)
        if rc != 0 or not m or m.groups() != (INNER, "24", VGW, DNS, "1438"):
            raise RuntimeError("DHCP from the monitor: %r" % (m.groups() if m else out[-300:]))

    def gateway_absent(self):
        g = self.g
        got, out = pings(g, 3, "-p %02x -s 200" % PATTERN)
        d, _, _ = ctl_vpn(g)
        problems = []
        if got != 0:
            problems.append("%d pings answered with no gateway: %r" % (got, out[-200:]))
        if not wait_log(g, r"vpn: ike: retransmitting message 0 \(send [3-9]", 30):
            problems.append("the monitor does not retransmit IKE_SA_INIT")
        out, _ = g.run("thinvisor-ctl device-counters | grep '^vpn-tunnel-down'", 30)
        m = re.search(r"vpn-tunnel-down (\d+)", out)
        if not m or int(m.group(1)) < 3:
            problems.append("vpn-tunnel-down %s, want >= 3" % (m.group(1) if m else None))
        if d.get("state") not in ("IKE_SA_INIT-sent", "idle", "failed"):
            problems.append("thinvisor-ctl vpn state %s" % d.get("state"))
        self.report("gateway_absent_fail_closed", "; ".join(problems) or None,
                    "tunnel-down %s, state %s" % (m.group(1) if m else "?", d.get("state")))

    def wrong_psk(self):
        g, env = self.g, self.env
        mark = len(g.monitor_log())
        env.start_charon(env.psk + "-wrong")
        m = wait_log(g, r"vpn: ike: .*AUTHENTICATION_FAILED.*", 40, mark)
        got, out = pings(g, 2, "-p %02x -s 200" % PATTERN)
        problems = []
        if not m:
            problems.append("no AUTHENTICATION_FAILED line in the monitor log")
        if got != 0:
            problems.append("%d pings answered with a wrong PSK" % got)
        if "ESTABLISHED" in env.swanctl("--list-sas"):
            problems.append("charon lists an established SA")
        env.stop_charon()
        self.report("wrong_psk_refused", "; ".join(problems) or None, m.group(0)[:120] if m else "")

    def comes_up(self):
        g, env = self.g, self.env
        mark = len(g.monitor_log())
        t0 = time.monotonic()
        env.start_charon(env.psk)
        m = wait_log(g, r"vpn: tunnel up with gateway [\d.]+: child SA in ([0-9a-f]{8}) out ([0-9a-f]{8})", 60, mark)
        problems = []
        if not m:
            self.report("comes_up_by_itself", "no tunnel within 60 s of charon's start")
            return False
        secs = time.monotonic() - t0
        sas = env.swanctl("--list-sas")
        with open(os.path.join(self.work, "sas-up.txt"), "w") as f:
            f.write(sas)
        if "ESTABLISHED" not in sas or "INSTALLED, TUNNEL-in-UDP" not in sas:
            problems.append("charon lists no established IKE SA with an installed ESP-in-UDP child")
        if not re.search(r"in\s+%s" % m.group(2), sas) or not re.search(r"out\s+%s" % m.group(1), sas):
            problems.append("charon's child SPIs are not in %s / out %s" % (m.group(2), m.group(1)))
        self.report("comes_up_by_itself", "; ".join(problems) or None, "up %.1f s after charon started" % secs)
        log = g.monitor_log()
        first = re.search(r"vpn: ike: IKE_SA_INIT to %s" % re.escape(DEAD_GW), log)
        switch = re.search(r"vpn: no SA with the gateway for \d+ s: trying gateway %s" % re.escape(GW_IP), log)
        up_on = re.search(r"vpn: tunnel up with gateway %s" % re.escape(GW_IP), log)
        self.report("second_gateway_when_first_silent",
                    None if first and switch and up_on and first.start() < switch.start() else
                    "IKE_SA_INIT to the first gateway %s: %s, switch to %s: %s, up there: %s"
                    % (DEAD_GW, bool(first), GW_IP, bool(switch), bool(up_on)),
                    "tried %s first, then %s, up there" % (DEAD_GW, GW_IP))
        return True

    def ping(self):
        got, out = pings(self.g, 5, "-p %02x -s 200" % PATTERN)
        self.report("ping_server", None if got == 5 else "%d of 5 echoes: %r" % (got, out[-200:]), "5/5 echoes")

    def echo(self):
        out, rc = self.g.run("(echo %s; sleep 3) | nc %s %d" % (MARK, SERVER, ECHO_PORT), 60)
        ok = MARK in out and any(MARK.encode() in e for e in self.env.server.echoed)
        self.report("tcp_echo", None if ok else "echo: %r (server saw %r)" % (out[-200:], self.env.server.echoed),
                    "marker line echoed")

    def bulk(self):
        g = self.g
        out, rc = g.run("dd if=/dev/urandom of=/tmp/blob bs=1M count=%d 2>/dev/null; sha256sum /tmp/blob" % BULK_MB,
                        300)
        m = re.search(r"([0-9a-f]{64})", out)
        if not m:
            self.report("tcp_64mib_across_rekeys", "no sha256 in the guest: %r" % out[-200:])
            return
        before, _, _ = ctl_vpn(g)
        t0 = time.monotonic()
        out, rc = g.run("nc %s %d < /tmp/blob; echo NC_RC=$?" % (SERVER, BULK_PORT), 1200)
        secs = time.monotonic() - t0
        after, _, _ = ctl_vpn(g)
        time.sleep(1)
        got = self.env.server.bulk[-1] if self.env.server.bulk else (0, "")
        problems = []
        if got != (BULK_MB << 20, m.group(1)):
            problems.append("server got %d bytes sha256 %s, guest sent %d sha256 %s (%r)"
                            % (got[0], got[1][:16], BULK_MB << 20, m.group(1)[:16], out[-200:]))
        rekeys = int(after.get("child-rekeys", 0)) - int(before.get("child-rekeys", 0))
        ike_rekeys = int(after.get("ike-rekeys", 0)) - int(before.get("ike-rekeys", 0))
        if rekeys < 1:
            problems.append("no child SA rekey during the %.0f s transfer" % secs)
        self.report("tcp_64mib_across_rekeys", "; ".join(problems) or None,
                    "%d MiB in %.0f s (%.1f MB/s), sha256 equal, %d child and %d IKE rekeys during it"
                    % (BULK_MB, secs, (BULK_MB << 20) / secs / 1e6, rekeys, ike_rekeys))

    def ctl(self, bulk=True):
        d, text, rc = ctl_vpn(self.g)
        with open(os.path.join(self.work, "ctl-vpn.txt"), "w") as f:
            f.write(text)
        problems = []
        if rc != 0:
            problems.append("exit %s" % rc)
        if d.get("state") != "established" or d.get("gateway") != GW_IP or d.get("last-error") is None:
            problems.append("state %s gateway %s last-error %s" % (d.get("state"), d.get("gateway"),
                                                                     d.get("last-error")))
        for k in ("pkts-out", "bytes-out", "pkts-in", "bytes-in", "tunnels-up") + (("child-rekeys",) if bulk else ()):
            if int(d.get(k, 0)) <= 0:
                problems.append("%s is %s" % (k, d.get(k)))
        for k in CTL_KEYS:
            if k not in d:
                problems.append("no %s counter" % k)
        errors, states = vpn_codes()
        if d.get("last-error") not in errors or d.get("state") not in states:
            problems.append("last-error %s or state %s is not a name of include/thinvisor/vpn_codes.h"
                            % (d.get("last-error"), d.get("state")))
        sas = self.env.swanctl("--list-sas")
        spi_in, spi_out = d.get("spi-in", "")[-8:], d.get("spi-out", "")[-8:]
        if not re.search(r"out\s+%s" % spi_in, sas) or not re.search(r"in\s+%s" % spi_out, sas):
            problems.append("SPIs in %s out %s are not charon's current child SA" % (spi_in, spi_out))
        # No key charon derived may show: every 16-byte run of its logged keys is looked for.
        keys = re.findall(r"((?:[0-9A-F]{2} ){15}[0-9A-F]{2})", self.env.charon_log())
        flat = text.replace(" ", "").lower()
        if any(k.replace(" ", "").lower()[:16] in flat for k in keys):
            problems.append("a key charon derived appears in thinvisor-ctl vpn")
        if self.env.psk in text:
            problems.append("the PSK appears in thinvisor-ctl vpn")
        self.report("ctl_vpn", "; ".join(problems) or None,
                    "state %s, SPIs %s/%s, %s packets out, %s in" % (d.get("state"), spi_in, spi_out,
                                                                     d.get("pkts-out"), d.get("pkts-in")))

    def deleted_at_reboot(self, log, cmark):
        """The monitor's Delete at the guest's reset, as charon saw it."""
        charon = ""
        end = time.monotonic() + 10  # charon writes its log line by line (flush_line)
        while time.monotonic() < end:
            charon = self.env.charon_log()[cmark:]
            if "received DELETE for IKE_SA" in charon:
                break
            time.sleep(0.5)
        m = re.search(r"received DELETE for IKE_SA tv\[\d+\]", charon)
        mon = re.search(r"vpn: reset: [^\n]*", log)
        how = re.search(r"reset: guest [^\r\n]*", log)
        problems = []
        if not m:
            problems.append("charon logged no Delete of the IKE SA after the guest's reboot")
        if not mon or "no IKE SA to delete" in mon.group(0):
            # Its answer is not required: the guest's driver restarts the link at its shutdown,
            # and what the gateway sends meanwhile may come late (docs/vpn.md).
            problems.append("the monitor's reset line: %r (the reset: %r)" % (mon.group(0) if mon else None,
                                                                             how.group(0) if how else None))
        sas = self.env.swanctl("--list-sas")
        if "ESTABLISHED" in sas:
            problems.append("charon still lists an established IKE SA")
        self.report("delete_at_reboot", "; ".join(problems) or None,
                    "%s; charon: %s; monitor: %s" % (how.group(0) if how else None, m.group(0) if m else None,
                                                     mon.group(0)[12:] if mon else None))

    def reboot(self, seconds=120):
        """`reboot -f` in the guest; QEMU (-no-reboot) exits at the reset. The monitor log."""
        try:
            self.g.sock.sendall(b"reboot -f\n")
        except OSError:
            pass
        end = time.monotonic() + seconds
        while self.g.proc.poll() is None and time.monotonic() < end:
            self.g.read_until(b"\x00never\x00", 0.5)  # the console read on: a full COM1 stalls the guest
        return self.g.kill()

    def finish(self):
        """Reboot, then the capture and the monitor log."""
        cmark = len(self.env.charon_log())
        log = self.reboot()
        self.g.save_console()
        if "comes_up_by_itself" in self.results:
            self.deleted_at_reboot(log, cmark)
        time.sleep(1)
        self.env.stop_dump()
        frames = read_pcap(self.env.pcap)
        bad = capture_problems(frames)
        problems = []
        if not frames:
            problems.append("the capture is empty")
        if bad:
            problems.append("%d frames not allowed on the outer link: %s" % (len(bad), "; ".join(bad[:3])))
        if self.env.psk in log:
            problems.append("the PSK is in the monitor log")
        esp = sum(1 for f in frames if (udp_of(f) or (0, 0, 0, 0))[3] == 4500)
        self.report("nothing_in_clear", "; ".join(problems) or None,
                    "%d frames captured (%d to UDP 4500), none in clear" % (len(frames), esp))
        if "tcp_64mib_across_rekeys" in self.results:
            m = re.search(r"tso: (\d+) guest packets cut into (\d+) frames", log)
            self.report("guest_tso_segmented", None if m and int(m.group(1)) > 0 else
                        "no TSO packet of the guest's was cut into frames (%s)" % (m.group(0) if m else "no tso line"),
                        m.group(0) if m else "")
        return log


def main():
    if "--list" in sys.argv:
        print("\n".join(CHECKS))
        return 0
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    if os.geteuid() != 0:
        print("FAIL vpn-tunnel: needs root")
        return 1
    if not os.path.exists(CHARON):
        for c in CHECKS:
            print("SKIP %s: strongSwan's charon is not installed" % c)
        return 0
    work = LOGS
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = Env()
    run = Run(env, work)
    crash = None
    try:
        env.setup(work)
        time.sleep(1)
        run.boot()
        run.gateway_absent()
        run.wrong_psk()
        if run.comes_up():
            run.ping()
            run.echo()
            bulk = not only or "tcp_64mib" in only  # --only without it: a quicker run for development
            if bulk:
                run.bulk()
            run.ctl(bulk)
            problem = check_bad_packets(env, run.g)
            run.report("bad_packets_dropped", problem, "each counted under its own name, the tunnel still up")
        log = run.finish()
        with open(os.path.join(work, "monitor.log.copy"), "w") as f:
            f.write(log)
    except Exception as e:  # noqa: BLE001 -- every check not reached fails with the reason
        crash = "%s: %s" % (type(e).__name__, e)
    finally:
        if run.g:
            run.g.kill()
        env.cleanup()
    failed = 0
    for c in CHECKS:
        if c in ("tcp_64mib_across_rekeys", "guest_tso_segmented") and only and "tcp_64mib" not in only:
            print("SKIP %s: not selected (--only %s)" % (c, only))
            continue
        if c not in run.results:
            print("FAIL %s: not reached (%s) (logs in %s)" % (c, crash or "an earlier check failed", work))
            failed += 1
            continue
        problem, note = run.results[c]
        if problem:
            failed += 1
            print("FAIL %s: %s (logs in %s)" % (c, problem, work))
        else:
            print("PASS %s %s" % (c, note))
    if not failed and os.path.exists(getattr(env, "pcap", "")):
        os.unlink(env.pcap)  # tens of MB once it passed: kept only for a failure
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
