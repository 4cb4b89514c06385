"""Wire helpers of tests/suites/vpn_tunnel.py (and its cert and failover variants): sockets
inside a namespace, charon started in a namespace, pcap frames, UDP fields, charon's logged child
keys, hand-made ESP/IKE packets, the corporate LAN's services behind the gateway (Server) and
the bad-packet check built from them (check_bad_packets). No test state here: addresses and
ports are the suite's, passed in."""
import hashlib
import os
import signal
import re
import socket
import struct
import subprocess
import threading
import time

import _netlib as nl


def ns_socket(ns, family, kind, proto=0):
    """A socket created inside the named network namespace."""
    fd = os.open("/var/run/netns/%s" % ns, os.O_RDONLY)
    own = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:
        nl._setns(fd)
        return socket.socket(family, kind, proto)
    finally:
        nl._setns(own)
        os.close(fd)
        os.close(own)


def start_charon(ns, conf, vici, out):
    """charon (kernel-libipsec) in namespace ns with strongswan.conf `conf`, its own /run (a
    private tmpfs, so that two charons run side by side), output appended to `out`; returns the
    Popen (its own process group) once its vici socket `vici` exists."""
    charon = "/usr/lib/ipsec/charon"
    log = open(out, "a")
    inner = "mount -t tmpfs x /run && STRONGSWAN_CONF=%s exec %s" % (conf, charon)
    p = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c", inner],
                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.time() + 15
    while not os.path.exists(vici):
        if time.time() > deadline or p.poll() is not None:
            nl.kill_group(p)
            raise RuntimeError("charon did not start (see %s)" % out)
        time.sleep(0.05)
    return p


def stop_capture(p):
    """Stops a tcpdump started by a suite: SIGINT so it flushes the pcap, then the group."""
    if p and p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGINT)
            p.wait(10)
        except Exception:  # noqa: BLE001 -- a hung tcpdump is killed below
            pass
    nl.kill_group(p)


def swanctl(vici, *args):
    """swanctl COMMAND --uri <vici> ARGS..."""
    return nl.sh("swanctl", args[0], "--uri", "unix://" + vici, *args[1:], timeout=15)


def read_pcap(path):
    """The frames of a pcap file (Ethernet link type), as bytes."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return []
    if len(data) < 24:
        return []
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    frames, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        frames.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return frames


def udp_of(f):
    """(src ip, dst ip, sport, dport, payload) of an IPv4/UDP frame, else None."""
    if len(f) < 42 or f[12:14] != b"\x08\x00" or f[23] != 17:
        return None
    ihl = (f[14] & 15) * 4
    u = 14 + ihl
    sport, dport, ulen = struct.unpack("!HHH", f[u:u + 6])
    return socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34]), sport, dport, f[u + 8:u + ulen]


def child_keys(charon_log, spi_in_hex):
    """charon's key and salt for what it sends on the child SA our inbound SPI names (charon
    logs KEYMAT at level 4 of `chd`), or None. charon is the responder: its outbound key is
    the "encryption responder key", logged before the "established with SPIs ..._i X_o" line."""
    lines = charon_log.splitlines()
    key = None
    for i, line in enumerate(lines):
        n = re.search(r"encryption responder key => (\d+) bytes", line)
        if n:
            want, hexes = int(n.group(1)), []
            for more in lines[i + 1:i + 1 + (want + 15) // 16]:
                m = re.search(r"\[CHD\]\s+\d+: (.*)$", more)
                if not m:
                    break
                hexes += m.group(1).split()[:min(16, want - len(hexes))]
            key = bytes(int(x, 16) for x in hexes) if len(hexes) == want else None
        m = re.search(r"established with SPIs [0-9a-f]{8}_i ([0-9a-f]{8})_o", line)
        if m and m.group(1) == spi_in_hex and key:
            return key[:-4], key[-4:]
    return None


def esp_bad_padding(spi_in, seq, key, salt):
    """A valid ESP packet (AES-GCM-16, authentic) whose padding is not 1, 2, 3..."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    inner = bytearray(28)  # an IPv4/ICMP header pair, only its length matters here
    inner[0], inner[9] = 0x45, 1
    inner[2:4] = struct.pack("!H", 28)
    plain = bytes(inner) + b"\x09\x09" + bytes([2, 4])  # 28 + 2 + 2 = 32: pad length 2, pad bytes 9 9 (not 1 2)
    iv = os.urandom(8)
    head = spi_in + struct.pack("!I", seq)
    return head + iv + AESGCM(key).encrypt(salt + iv, plain, head)


def ike_header(spi_i, spi_r, next_payload, exchange, flags, msg_id, length):
    return struct.pack("!8s8sBBBBII", spi_i, spi_r, next_payload, 0x20, exchange, flags, msg_id, length)


# ---- the corporate LAN behind the gateway -------------------------------------------------

class Server:
    """The corporate LAN: a namespace behind the gateway with a TCP echo service (one line back,
    then close) and a bulk sink (bytes counted and hashed until EOF) on addr, threads of this
    process."""

    def __init__(self, ns, addr, echo_port, bulk_port):
        self.ns, self.addr, self.echo_port, self.bulk_port = ns, addr, echo_port, bulk_port
        self.bulk = []  # (bytes, sha256 hex, marker seen)
        self.receiving = 0  # bytes of the bulk transfer under way (a test waits for it to start)
        self.echoed = []
        self.stop = threading.Event()
        self.threads = []
        self.socks = []

    def listen(self, port, handler):
        s = ns_socket(self.ns, socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((self.addr, port))
        s.listen(4)
        s.settimeout(0.5)
        self.socks.append(s)

        def loop():
            while not self.stop.is_set():
                try:
                    c, _ = s.accept()
                except (socket.timeout, OSError):
                    continue
                threading.Thread(target=handler, args=(c,), daemon=True).start()
        t = threading.Thread(target=loop, daemon=True)
        t.start()
        self.threads.append(t)

    def echo(self, c):
        c.settimeout(60)
        data = b""
        try:
            while b"\n" not in data:
                d = c.recv(4096)
                if not d:
                    break
                data += d
            self.echoed.append(data)
            c.sendall(data)
        except OSError:
            pass
        c.close()

    def sink(self, c):
        c.settimeout(300)
        h, n, tail, marked = hashlib.sha256(), 0, b"", False
        try:
            while True:
                d = c.recv(1 << 16)
                if not d:
                    break
                h.update(d)
                n += len(d)
                self.receiving = n
        except OSError:
            pass
        c.close()
        self.bulk.append((n, h.hexdigest()))

    def start(self):
        self.listen(self.echo_port, self.echo)
        self.listen(self.bulk_port, self.sink)

    def close(self):
        self.stop.set()
        for s in self.socks:
            s.close()


# ---- bad packets from the network ------------------------------------------------------------

def latest_esp_in(pcap, spi_in, gw_ip, mon_ip):
    """The UDP payload of the latest ESP packet the gateway sent on the SA with our SPI spi_in."""
    last = None
    for f in read_pcap(pcap):
        u = udp_of(f)
        if u and u[0] == gw_ip and u[1] == mon_ip and u[3] == 4500 and len(u[4]) > 8 and u[4][:4] == spi_in:
            last = u[4]
    return last


def inject(env, payloads, gw_ip, mon_ip):
    """Each payload as one UDP datagram from the gateway's address to the monitor's 4500."""
    s = ns_socket(env.net.ns, socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((gw_ip, 0))
    for p in payloads:
        s.sendto(p, (mon_ip, 4500))
        time.sleep(0.05)
    s.close()


def bad_packets(env, before, gw_ip, mon_ip):
    """Every kind of bad packet, sent from the gateway's namespace; [(counter, payload)]."""
    spi_in = bytes.fromhex(before["spi-in"][-8:])
    spi_i, spi_r = bytes.fromhex(before["ike-spi-i"]), bytes.fromhex(before["ike-spi-r"])
    last = latest_esp_in(env.pcap, spi_in, gw_ip, mon_ip)
    if last is None:
        return None, "no ESP packet from the gateway on SA %s in the capture" % spi_in.hex()
    seq = struct.unpack("!I", last[4:8])[0]
    keys = child_keys(env.charon_log(), spi_in.hex())
    if keys is None:
        return None, "no key for SA %s in charon's log (chd level 4)" % spi_in.hex()
    unknown = b"\x0b\xad\xf0\x0d" if spi_in != b"\x0b\xad\xf0\x0d" else b"\x0b\xad\xf0\x0e"
    sent = [
        ("unknown-spi", unknown + struct.pack("!I", 1) + os.urandom(8 + 48 + 16)),
        ("truncated", spi_in + struct.pack("!I", seq + 20) + os.urandom(8)),
        ("bad-icv", spi_in + struct.pack("!I", seq + 30) + os.urandom(8 + 48 + 16)),
        ("replay", last),
        ("bad-padding", esp_bad_padding(spi_in, seq + 40, keys[0], keys[1])),
        # IKE behind the non-ESP marker: a length that disagrees with the datagram, an unknown
        # payload type marked critical, and a response to a request long answered (IKE_AUTH).
        ("ike-bad", b"\0\0\0\0" + ike_header(spi_i, spi_r, 0, 37, 0x20, 5, 1000)),
        ("ike-bad", b"\0\0\0\0" + ike_header(spi_i, spi_r, 250, 37, 0x20, 5, 32) + bytes([0, 0x80, 0, 4])),
        ("ike-ignored", b"\0\0\0\0" + ike_header(spi_i, spi_r, 0, 35, 0x20, 1, 28)),
    ]
    inject(env, [p for _, p in sent], gw_ip, mon_ip)
    return sent, None


def check_bad_packets(env, g, gw_ip, mon_ip, ctl_vpn, pings):
    """Every kind of bad packet from the gateway's address to the monitor's UDP 4500 (env: a
    vpn_tunnel.Env with its capture and charon's log; ctl_vpn and pings: the suite's guest
    helpers): each counted under its own name, and the tunnel still works. A problem or None."""
    # The packets are made for the SAs in force when they are built; with the test's 20 s
    # lifetimes a rekey can replace those SAs before they arrive (in one make test run five of
    # the eight were then not counted as what they were made to be), so such an attempt is
    # repeated, up to three times.
    # The packets are built from the gateway's latest ESP packet on the inbound SA in force; an
    # SA a rekey made a moment ago may have carried none yet (seen once in make test: a child
    # SA rekeyed 1 s before), so the guest's pings draw one and the attempt is made again.
    for attempt in range(3):
        before, _, _ = ctl_vpn(g)
        sent, why = bad_packets(env, before, gw_ip, mon_ip)
        if why and why.startswith("no ESP packet") and attempt < 2:
            pings(g, 2)
            time.sleep(1)
            continue
        if why:
            return why
        time.sleep(1)
        after, text, _ = ctl_vpn(g)
        want = {}
        for name, _ in sent:
            want[name] = want.get(name, 0) + 1
        problems = []
        for name, n in sorted(want.items()):
            got = int(after.get(name, 0)) - int(before.get(name, 0))
            if got < n:
                problems.append("%s counted %d of %d" % (name, got, n))
        rekeyed = any(after.get(k) != before.get(k) for k in ("ike-rekeys", "child-rekeys", "spi-in", "ike-spi-i"))
        if not (problems and rekeyed):
            break
        problems.append("(attempt %d: a rekey replaced the SAs meanwhile)" % (attempt + 1))
    got, out = pings(g, 3)
    if got < 3:
        problems.append("the tunnel does not work after the bad packets: %d of 3 echoes" % got)
    if after.get("state") != "established":
        problems.append("state %s after the bad packets" % after.get("state"))
    return "; ".join(problems) or None
