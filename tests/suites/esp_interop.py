#!/usr/bin/env python3
"""ESP (vpn/esp) against an independent RFC 4106 / RFC 4303 implementation: Python's
`cryptography` package (OpenSSL's AES-GCM underneath) and the packet layout written here from
the RFCs. build/tools/esp_tool (make esp-tool) drives our code.

Our packets are decrypted by the other implementation and its packets by ours, with 128- and
256-bit keys, both halves of KEYMAT (RFC 7296 section 2.17: initiator-to-responder key and salt
first), random IVs and padding lengths as another sender would choose them. The peer of the
real tunnel, strongSwan's kernel-libipsec, is exercised by the IKE suite.

Prints `PASS name` or `FAIL name: why` per test; --only PATTERN, --list.
"""
import argparse
import fnmatch
import os
import random
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "tools", "esp_tool")
OUR_SPI, PEER_SPI = 0xC0DE0001, 0xBEEF0002
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def ipv4(n, fill):
    body = bytes((fill + i) & 0xFF for i in range(n - 20))
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, n, 1, 0, 64, 17, 0, bytes([10, 0, 0, 2]), bytes([10, 1, 0, 9])) + body


class Tool:
    """Our side: one SA pair, we are the initiator; commands over a pipe."""

    def __init__(self, keymat, key_bytes):
        self.p = subprocess.Popen([TOOL, keymat.hex(), str(key_bytes), "%x" % OUR_SPI, "%x" % PEER_SPI, "1"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cmd(self, verb, data):
        self.p.stdin.write("%s %s\n" % (verb, data.hex()))
        self.p.stdin.flush()
        line = self.p.stdout.readline().strip()
        if line.startswith("ok "):
            return "ok", bytes.fromhex(line[3:])
        return line, None

    def close(self):
        self.p.stdin.close()
        self.p.wait(timeout=10)


class Peer:
    """The other side, from the RFCs: the responder of the same KEYMAT."""

    def __init__(self, keymat, key_bytes):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        half = key_bytes + 4
        i2r, r2i = keymat[:half], keymat[half:2 * half]
        self.rx = (AESGCM(i2r[:key_bytes]), i2r[key_bytes:])  # what we (initiator) send
        self.tx = (AESGCM(r2i[:key_bytes]), r2i[key_bytes:])
        self.seq = 0

    def decrypt(self, pkt):
        spi, seq = struct.unpack("!II", pkt[:8])
        iv, ct = pkt[8:16], pkt[16:]
        aead, salt = self.rx
        pt = aead.decrypt(salt + iv, ct, pkt[:8])  # raises InvalidTag
        pad, nh = pt[-2], pt[-1]
        return spi, seq, iv, pt[:len(pt) - 2 - pad], pt[len(pt) - 2 - pad:len(pt) - 2], nh, len(ct) - 16

    def encrypt(self, inner, pad=None, nh=4, seq=None, iv=None, pad_bytes=None):
        if seq is None:
            self.seq += 1
            seq = self.seq
        if pad is None:
            pad = (4 - (len(inner) + 2) % 4) % 4 + 4 * random.randrange(0, 3)
        if pad_bytes is None:
            pad_bytes = bytes(range(1, pad + 1))
        iv = iv if iv is not None else os.urandom(8)
        hdr = struct.pack("!II", OUR_SPI, seq)
        aead, salt = self.tx
        return hdr + iv + aead.encrypt(salt + iv, inner + pad_bytes + bytes([len(pad_bytes), nh]), hdr)


def pair(key_bytes, seed):
    rnd = random.Random(seed)
    keymat = bytes(rnd.randrange(256) for _ in range(2 * (key_bytes + 4)))
    return Tool(keymat, key_bytes), Peer(keymat, key_bytes)


@test
def our_packets_decrypt_with_the_other_implementation():
    for key_bytes in (16, 32):
        tool, peer = pair(key_bytes, key_bytes)
        try:
            for n in list(range(20, 40)) + [64, 576, 1400, 1500]:
                inner = ipv4(n, n)
                verdict, pkt = tool.cmd("seal", inner)
                check(verdict == "ok", "seal refused %d bytes" % n)
                spi, seq, iv, got, pad, nh, ctlen = peer.decrypt(pkt)
                check(spi == PEER_SPI, "SPI %08x" % spi)
                check(iv == struct.pack("!Q", seq), "IV is not the sequence number")
                check(got == inner, "inner packet differs at %d bytes" % n)
                check(pad == bytes(range(1, len(pad) + 1)), "padding %s" % pad.hex())
                check(nh == 4, "next header %d" % nh)
                check(ctlen % 4 == 0, "ciphertext not 4-byte aligned")
        finally:
            tool.close()


@test
def other_implementations_packets_open_with_ours():
    for key_bytes in (16, 32):
        tool, peer = pair(key_bytes, 100 + key_bytes)
        try:
            for n in list(range(20, 40)) + [100, 1400]:
                inner = ipv4(n, 3 * n)
                verdict, got = tool.cmd("open", peer.encrypt(inner))
                check(verdict == "ok", "%d bytes: %s" % (n, verdict))
                check(got == inner, "inner packet differs at %d bytes" % n)
        finally:
            tool.close()


@test
def ours_refuses_the_other_implementations_bad_packets():
    tool, peer = pair(16, 7)
    try:
        inner = ipv4(60, 1)
        good = peer.encrypt(inner)
        check(tool.cmd("open", good)[0] == "ok", "good packet refused")
        check(tool.cmd("open", good)[0] == "replayed", "replay accepted")
        bad = bytearray(peer.encrypt(inner))
        bad[-1] ^= 1
        check(tool.cmd("open", bytes(bad))[0] == "bad ICV", "bad ICV accepted")
        check(tool.cmd("open", peer.encrypt(inner, pad_bytes=bytes([1, 2, 4])))[0] == "bad padding",
              "non-monotonic padding accepted")
        check(tool.cmd("open", peer.encrypt(inner, nh=41))[0] == "bad next header", "next header 41 accepted")
        check(tool.cmd("open", good[:20])[0] == "truncated", "truncated packet accepted")
        other = bytearray(good)
        other[0:4] = b"\x11\x22\x33\x44"
        check(tool.cmd("open", bytes(other))[0] == "unknown SPI", "unknown SPI accepted")
    finally:
        tool.close()


@test
def udp_4500_demultiplexing_follows_rfc_3948():
    tool, peer = pair(16, 9)
    try:
        check(tool.cmd("udp", b"\xff")[0] == "keepalive", "0xff is a keepalive")
        check(tool.cmd("udp", b"\0\0\0\0" + b"\x01" * 28)[0] == "ike", "non-ESP marker is IKE")
        check(tool.cmd("udp", peer.encrypt(ipv4(40, 0)))[0] == "esp", "ESP not recognised")
        check(tool.cmd("udp", b"\0\0")[0] == "malformed", "2 bytes are malformed")
    finally:
        tool.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for t in TESTS:
            print(t.__name__)
        return 0
    pats = [p for p in args.only.split(",") if p]
    failed = False
    for t in TESTS:
        name = t.__name__
        if pats and not any(p in name or fnmatch.fnmatch(name, p) for p in pats):
            continue
        try:
            if not os.access(TOOL, os.X_OK):
                raise Failure("%s not built (make esp-tool)" % TOOL)
            try:
                import cryptography  # noqa: F401
            except ImportError:
                raise Failure("python3 has no `cryptography` package (Debian: python3-cryptography)")
            t()
            print("PASS %s" % name)
        except Failure as e:
            print("FAIL %s: %s" % (name, e))
            failed = True
        except Exception as e:  # noqa: BLE001
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
            failed = True
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
