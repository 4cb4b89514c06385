"""Wire helpers of tests/suites/vpn_tunnel.py (and its cert and failover variants): sockets
inside a namespace, charon started in a namespace, pcap frames, UDP fields, charon's logged child
keys, and hand-made ESP/IKE packets for the bad-packet checks. No test state here: constants stay
with the suite."""
import os
import signal
import re
import socket
import struct
import subprocess
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
