#!/usr/bin/env python3
"""The AoE initiator (build/tools/aoe-client, built from aoe/) against real peers.

Creates two private network namespaces joined by a veth pair (names carry this process's PID),
runs vblade (package vblade) in one and aoe-client in the other, and checks discovery, reads
against the image file, writes landing in the image file, LBA48, jumbo frames, a scripted peer
sending malformed replies (this file with --peer, a raw-socket responder), vblade killed and
restarted mid-transfer, and a long outage ending in a clean error after the deadline.

Prints `PASS name ...` or `FAIL name: why` per test and exits non-zero if anything failed.
Everything it creates (namespaces, veth, daemons, images) is removed on exit, also after a
failure or a signal. Needs root (namespaces, raw sockets). `--only PATTERN` selects tests.
"""
import argparse
import atexit
import fnmatch
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402  (sh, kill_group)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = os.path.join(ROOT, "build", "tools", "aoe-client")
LOGS = os.path.join(ROOT, "build", "test-results", "aoe_vblade")
PID = os.getpid()
NS_T, NS_I = "tvaoe%dt" % PID, "tvaoe%di" % PID  # target side, initiator side
IF_T, IF_I = "tvat%d" % PID, "tvai%d" % PID
SHELF, SLOT = 3, 7
SECTOR = 512
ETH_P_AOE = 0x88A2

# ---------------------------------------------------------------- environment and cleanup


class Env:
    def __init__(self):
        self.procs = []
        self.tmp = None
        self.up = False
        self.vblade = None

    def sh(self, *cmd, check=True, timeout=20):
        return nl.sh(*cmd, check=check, timeout=timeout)

    def setup(self):
        os.makedirs(LOGS, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="tvaoe%d-" % PID)
        self.up = True
        self.sh("ip", "netns", "add", NS_T)
        self.sh("ip", "netns", "add", NS_I)
        self.sh("ip", "link", "add", IF_T, "netns", NS_T, "type", "veth", "peer", "name", IF_I,
                "netns", NS_I)
        for ns, dev in ((NS_T, IF_T), (NS_I, IF_I)):
            self.sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.sh("ip", "-n", ns, "link", "set", dev, "up")

    def set_mtu(self, mtu):
        self.sh("ip", "-n", NS_T, "link", "set", IF_T, "mtu", str(mtu))
        self.sh("ip", "-n", NS_I, "link", "set", IF_I, "mtu", str(mtu))

    def target_mac(self):
        out = self.sh("ip", "-n", NS_T, "-o", "link", "show", IF_T)
        return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)

    def spawn(self, ns, cmd, limit, log_name, **kw):
        """A daemon in ns, under timeout, in its own process group (so it can be killed whole)."""
        log = open(os.path.join(LOGS, log_name), "a")
        p = subprocess.Popen(["ip", "netns", "exec", ns, "timeout", "--kill-after=2", str(limit)] + cmd,
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        log.close()
        self.procs.append(p)
        return p

    def kill(self, p):
        nl.kill_group(p)

    def start_vblade(self, image, shelf=SHELF, slot=SLOT):
        self.stop_vblade()
        self.vblade = self.spawn(NS_T, ["vblade", str(shelf), str(slot), IF_T, image], 600, "vblade.log")
        time.sleep(0.3)  # it announces itself and is listening by then
        if self.vblade.poll() is not None:
            raise RuntimeError("vblade exited at start (see %s/vblade.log)" % LOGS)

    def stop_vblade(self):
        self.kill(self.vblade)
        self.vblade = None

    def cleanup(self):
        if not self.up:
            return
        self.up = False
        for p in self.procs:
            self.kill(p)
        for ns in (NS_T, NS_I):
            # Anything still inside our own namespaces was started by this suite.
            out = subprocess.run(["timeout", "5", "ip", "netns", "pids", ns], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True).stdout
            for pid in out.split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            subprocess.run(["timeout", "10", "ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)


ENV = Env()


def on_signal(signum, _frame):
    ENV.cleanup()
    os._exit(128 + signum)


# ---------------------------------------------------------------- running the client


class Run:
    def __init__(self, rc, out, err, secs):
        self.rc, self.out, self.err, self.secs = rc, out, err, secs

    def stats(self):
        """Counters from --stats: every key=value on the stats and refused lines."""
        d = {}
        for line in self.err.splitlines():
            if line.startswith("aoe-client: stats ") or line.startswith("aoe-client: refused "):
                for k, v in re.findall(r"(\w+)=(\d+)", line):
                    d[("refused." if " refused " in line[:21] else "") + k] = int(v)
        return d

    def mbps(self):
        m = re.search(r"= ([0-9.]+) MB/s", self.err)
        return float(m.group(1)) if m else 0.0

    def why(self):
        return "rc=%s: %s" % (self.rc, " | ".join(self.err.strip().splitlines()[-3:])[:300])


def client_argv(opts, command, cargs, limit, target=True):
    """aoe-client -s [-t S.N] OPTS IFACE COMMAND ARGS, under timeout, in the initiator's namespace."""
    return ["ip", "netns", "exec", NS_I, "timeout", "--kill-after=2", str(limit), CLIENT, "-s"] + \
        (["-t", "%d.%d" % (SHELF, SLOT)] if target else []) + list(opts) + [IF_I, command] + \
        [str(a) for a in cargs]


def log_run(cmd, err):
    with open(os.path.join(LOGS, "client.log"), "a") as f:
        f.write("$ %s\n%s\n" % (" ".join(cmd), err))


def run_client(opts, command, *cargs, stdin=None, limit=60, target=True, discard=False):
    cmd = client_argv(opts, command, cargs, limit, target)
    t0 = time.monotonic()
    p = subprocess.run(cmd, input=stdin, stderr=subprocess.PIPE,
                       stdout=subprocess.DEVNULL if discard else subprocess.PIPE)
    err = p.stderr.decode("utf-8", "replace")
    log_run(cmd, err)
    return Run(p.returncode, p.stdout, err, time.monotonic() - t0)


class Background:
    """A copy-in/copy-out whose progress is watched while it runs, to kill vblade mid-way."""

    def __init__(self, opts, command, *cargs, limit=120):
        self.cmd = client_argv(["--progress"] + list(opts), command, cargs, limit)
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, start_new_session=True)
        ENV.procs.append(self.p)
        self.err_lines, self.progress = [], 0
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_err.start()

    def _read_err(self):
        for raw in self.p.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.err_lines.append(line)
            m = re.match(r"aoe-client: progress (\d+)", line)
            if m:
                self.progress = int(m.group(1))

    def wait_progress(self, nbytes, timeout=30):
        end = time.monotonic() + timeout
        while self.progress < nbytes and self.p.poll() is None and time.monotonic() < end:
            time.sleep(0.005)
        return self.progress >= nbytes and self.p.poll() is None

    def finish(self, timeout=120):
        try:
            self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            ENV.kill(self.p)
        self.t_err.join(5)
        err = "\n".join(self.err_lines)
        log_run(self.cmd, err)
        return Run(self.p.returncode, b"", err, time.monotonic() - self.t0)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make_image(name, nbytes, seed):
    path = ENV.path(name)
    with open(path, "wb") as f:
        f.write(random.Random(seed).randbytes(nbytes))
    return path


def file_range(path, lba, count):
    with open(path, "rb") as f:
        f.seek(lba * SECTOR)
        return f.read(count * SECTOR)


# ---------------------------------------------------------------- the scripted bad peer
# Runs as `aoe_vblade.py --peer IFACE SHELF SLOT MODE SECTORS` inside the target namespace.
# A minimal AoE target whose sectors hold a known pattern. MODE malformed: before the good
# answer to each of the first reads it sends one malformed reply of every kind, and after it a
# duplicate; its Query Config answer is preceded by an unusable one. MODE error: reads are
# answered with the AoE error flag (device unavailable).

HDR = struct.Struct("!6s6sHBBHBBI")
ATA = struct.Struct("<BBBB6sH")


def pattern(lba, count):
    return b"".join(struct.pack("<QQ", lba + i, 0x7468696E76697372) * 32 for i in range(count))


def identify_block(sectors):
    w = [0] * 256
    lba28 = min(sectors, 0x0FFFFFFF)
    w[60], w[61] = lba28 & 0xFFFF, lba28 >> 16
    w[83] = 0x5400
    for i in range(4):
        w[100 + i] = (sectors >> (16 * i)) & 0xFFFF
    model = b"thinvisor scripted peer".ljust(40)
    for i in range(20):
        w[27 + i] = model[2 * i] << 8 | model[2 * i + 1]
    return struct.pack("<256H", *w)


class Peer:
    def __init__(self, iface, shelf, slot, mode, sectors):
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_AOE))
        self.s.bind((iface, ETH_P_AOE))
        self.mac = self.s.getsockname()[4]
        self.shelf, self.slot, self.mode, self.sectors = shelf, slot, mode, sectors
        self.bad_rounds = 2 if mode == "malformed" else 0

    def serve(self):
        print("peer ready", flush=True)  # the socket is bound: with_peer may start the client
        while True:
            pkt, addr = self.s.recvfrom(65536)
            if addr[2] == socket.PACKET_OUTGOING or len(pkt) < 24:
                continue
            dst, src, _, verfl, _, major, minor, cmd, tag = HDR.unpack(pkt[:24])
            if verfl & 0x08 or major not in (self.shelf, 0xFFFF) or minor not in (self.slot, 0xFF):
                continue
            self.src, self.cmd, self.tag = src, cmd, tag
            if cmd == 1:
                self.s.send(self.hdr() + struct.pack("!HHBBH", 4, 1, 2, 0x12, 0))  # never asked
                self.s.send(self.hdr() + struct.pack("!HHBBH", 4, 1, 2, 0x10, 0))
            elif cmd == 0 and len(pkt) >= 36:
                self.ata(*ATA.unpack(pkt[24:36]))

    def hdr(self, flags=0x18, error=0, src=None, minor=None, tag=None):
        return HDR.pack(self.src, src or self.mac, ETH_P_AOE, flags, error, self.shelf,
                        self.slot if minor is None else minor, self.cmd,
                        self.tag if tag is None else tag)

    def ata(self, aflags, _feature, count, acmd, lba_b, _res):
        lba = int.from_bytes(lba_b, "little") & ((1 << 48) - 1 if aflags & 0x40 else 0x0FFFFFFF)
        arg = ATA.pack(aflags, 0, 0, 0x40, lba_b, 0)
        if acmd == 0xEC:
            self.s.send(self.hdr() + arg + identify_block(self.sectors))
        elif acmd not in (0x20, 0x24):
            self.s.send(self.hdr() + ATA.pack(aflags, 0x04, count, 0x41, lba_b, 0))  # ABRT
        elif self.mode == "error":
            self.s.send(self.hdr(flags=0x1C, error=3) + arg)  # device unavailable
        else:
            good = self.hdr() + arg + pattern(lba, count)
            if self.bad_rounds > 0:
                self.bad_rounds -= 1
                for frame in self.malformed(good, aflags, count, lba_b):
                    self.s.send(frame)
                self.s.send(good)  # and a duplicate after it
            self.s.send(good)

    def malformed(self, good, aflags, count, lba_b):
        data = good[36:]
        return (good[:30],                                              # truncated
                good[:14] + b"\x28" + good[15:],                        # version 2
                good[:19] + b"\x02" + good[20:],                        # command 2
                good + b"\x00",                                         # stray byte
                self.hdr(src=b"\x02\x99\x99\x99\x99\x99") + good[24:],     # another MAC
                self.hdr(minor=(self.slot + 1) & 0xFF) + good[24:],     # another slot
                self.hdr(tag=self.tag ^ 0x3F) + good[24:],              # a slot never used
                self.hdr() + ATA.pack(aflags, 0, count + 1, 0x40, lba_b, 0) + data,
                self.hdr() + ATA.pack(aflags ^ 0x01, 0, 0, 0x40, lba_b, 0) + data)


# ---------------------------------------------------------------- tests

TESTS = []
IMG = {}


def test(fn):
    TESTS.append(fn)
    return fn


def main_image():
    if "main" not in IMG:
        IMG["main"] = make_image("main.img", 32 << 20, seed=1)
    return IMG["main"]


def ensure_vblade(image):
    if ENV.vblade is None or ENV.vblade.poll() is not None or IMG.get("served") != image:
        ENV.start_vblade(image)
        IMG["served"] = image


@test
def discover_finds_vblade():
    ensure_vblade(main_image())
    r = run_client([], "discover", target=False, limit=20)
    want = "e%d.%d mac=%s buffers=16" % (SHELF, SLOT, ENV.target_mac())
    if r.rc != 0 or want not in r.out.decode():
        return False, "want '%s' in %r (%s)" % (want, r.out.decode(), r.why())
    return True, want


@test
def identify_reports_image_size():
    ensure_vblade(main_image())
    r = run_client([], "info", limit=20)
    out = r.out.decode()
    want = ("sectors=%d " % ((32 << 20) // SECTOR), "lba48=yes", "Coraid EtherDrive vblade",
            "window=16 sectors_per_frame=2")
    if r.rc != 0 or not all(w in out for w in want):
        return False, "unexpected info %r (%s)" % (out, r.why())
    return True, " ".join(w.strip() for w in want)


@test
def reads_match_the_image():
    img = main_image()
    ensure_vblade(img)
    total = (32 << 20) // SECTOR
    for lba, count in ((0, 1), (1, 3), (777, 129), (total - 1, 1), (total - 300, 300), (4096, 1000)):
        r = run_client([], "read", lba, count)
        if r.rc != 0 or r.out != file_range(img, lba, count):
            return False, "read %d+%d differs (%s)" % (lba, count, r.why())
    out = ENV.path("copy-out.img")
    r = run_client([], "copy-out", out)
    if r.rc != 0 or sha(out) != sha(img):
        return False, "copy-out differs from the image (%s)" % r.why()
    return True, "6 ranges and a 32 MiB copy-out"


@test
def writes_land_in_the_image():
    img = main_image()
    ensure_vblade(img)
    before = open(img, "rb").read()
    data = os.urandom(301 * SECTOR)
    last = os.urandom(SECTOR)
    total = len(before) // SECTOR
    for lba, payload in ((1000, data), (total - 1, last)):
        r = run_client([], "write", lba, stdin=payload)
        if r.rc != 0:
            return False, "write at %d failed (%s)" % (lba, r.why())
    after = open(img, "rb").read()
    expect = bytearray(before)
    expect[1000 * SECTOR:1301 * SECTOR] = data
    expect[(total - 1) * SECTOR:] = last
    if after != bytes(expect):
        return False, "image file differs from the expected content"
    r = run_client([], "write", 5, stdin=b"x" * 100)
    if r.rc == 0 or "whole number" not in r.err:
        return False, "a partial sector was not refused (%s)" % r.why()
    r = run_client([], "write", total - 1, stdin=os.urandom(2 * SECTOR))
    if r.rc == 0 or "past the end" not in r.err:
        return False, "input longer than the disk was not refused (%s)" % r.why()
    return True, "301 sectors at 1000, the last sector; partial sector, overrun refused"


@test
def copy_in_reproduces_the_source():
    img = make_image("copy-in-target.img", 16 << 20, seed=2)
    src = make_image("copy-in-source.img", 16 << 20, seed=3)
    ensure_vblade(img)
    r = run_client([], "copy-in", src)
    if r.rc != 0 or sha(img) != sha(src):
        return False, "image after copy-in differs (%s)" % r.why()
    return True, "16 MiB"


@test
def lba48_beyond_2_pow_28():
    big = ENV.path("sparse-lba48.img")
    sectors = (1 << 28) + 4096
    with open(big, "wb") as f:
        f.truncate(sectors * SECTOR)  # 128 GiB, sparse
    ensure_vblade(big)
    ranges = ((1 << 28) - 1, 3), ((1 << 28) + 100, 5), (sectors - 2, 2)
    for lba, count in ranges:
        payload = os.urandom(count * SECTOR)
        w = run_client([], "write", lba, stdin=payload)
        if w.rc != 0 or file_range(big, lba, count) != payload:
            return False, "write at %d not in the file (%s)" % (lba, w.why())
        r = run_client([], "read", lba, count)
        if r.rc != 0 or r.out != payload:
            return False, "read back at %d differs (%s)" % (lba, r.why())
    r = run_client(["--ext"], "read", 0, 8)
    if r.rc != 0 or r.out != file_range(big, 0, 8):
        return False, "EXT read at 0 failed (%s)" % r.why()
    return True, "%d sectors; writes and reads across and above 2^28" % sectors


@test
def jumbo_frames_carry_17_sectors():
    img = main_image()
    ENV.stop_vblade()
    try:
        ENV.set_mtu(9000)
        ENV.start_vblade(img)
        IMG["served"] = img
        info = run_client([], "info", limit=20)
        r = run_client([], "read", 100, 2000)
        ok = info.rc == 0 and "sectors_per_frame=17" in info.out.decode() and \
            r.rc == 0 and r.out == file_range(img, 100, 2000)
        detail = "sectors_per_frame=17, %.0f MB/s" % r.mbps() if ok else \
            "info %r / read %s" % (info.out.decode(), r.why())
    finally:
        ENV.stop_vblade()
        ENV.set_mtu(1500)
    return ok, detail


def _count_ready(log):
    try:
        with open(log) as f:
            return f.read().count("peer ready")
    except FileNotFoundError:
        return 0


def with_peer(mode, fn):
    ENV.stop_vblade()
    log = os.path.join(LOGS, "peer.log")
    ready_before = _count_ready(log)
    peer = ENV.spawn(NS_T, [sys.executable, os.path.abspath(__file__), "--peer", IF_T, str(SHELF),
                            str(SLOT), mode, "4096"], 60, "peer.log")
    # A loaded machine can take seconds to start Python: the client's 5 s must not include it.
    end = time.monotonic() + 30
    while _count_ready(log) == ready_before and peer.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    try:
        return fn()
    finally:
        ENV.kill(peer)


@test
def malformed_replies_are_refused_and_counted():
    def body():
        r = run_client(["-d", "10"], "read", 0, 16)
        st = r.stats()
        if r.rc != 0 or r.out != pattern(0, 16):
            return False, "read through the bad peer failed (%s)" % r.why()
        kinds = ("truncated", "bad_version", "unknown_command", "bad_length", "wrong_source",
                 "wrong_target", "unknown_tag", "count_mismatch", "flag_mismatch", "duplicate",
                 "bad_config")
        missing = [k for k in kinds if st.get("refused." + k, 0) < 1]
        if missing:
            return False, "not counted: %s (%s)" % (", ".join(missing), r.why())
        if "refused unknown_tag" not in r.err:
            return False, "refusals were not logged"
        if st["rx_frames"] != st["accepted"] + st["ignored"] + st["refused"]:
            return False, "frames not all accounted for: %s" % st
        return True, "%d refused (%s), data intact" % (st["refused"], ", ".join(kinds))
    return with_peer("malformed", body)


@test
def error_flag_fails_the_request_cleanly():
    def body():
        r = run_client(["-d", "10"], "read", 0, 4, limit=30)
        st = r.stats()
        if r.rc != 1 or "target refused the command" not in r.err or st.get("refused.error_flag", 0) < 1:
            return False, "expected a clean failure (%s)" % r.why()
        return True, "exit 1 after %.1f s, error_flag=%d" % (r.secs, st["refused.error_flag"])
    return with_peer("error", body)


def big_image():
    if "big" not in IMG:
        IMG["big"] = make_image("big.img", 96 << 20, seed=4)
    return IMG["big"]


def restart_mid_transfer(command):
    """copy-out (from a 96 MiB image) or copy-in (onto one); vblade killed after 4 MiB and
    restarted 1.5 s later. The copy and the image must end equal."""
    src = big_image()
    img = src if command == "copy-out" else make_image("restart-target.img", 96 << 20, seed=5)
    ensure_vblade(img)
    out = ENV.path("restart-out.img")
    bg = Background([], command, out if command == "copy-out" else src)
    if not bg.wait_progress(4 << 20):
        return False, "the transfer ended before vblade could be killed"
    ENV.stop_vblade()
    at = bg.progress
    time.sleep(1.5)
    ensure_vblade(img)
    r = bg.finish()
    st = r.stats()
    if r.rc != 0 or sha(out if command == "copy-out" else img) != sha(src):
        return False, "data differs after the restart (%s)" % r.why()
    if st.get("retransmits", 0) == 0:
        return False, "no retransmission: the outage did not hit the transfer"
    if st.get("requests_done") != (96 << 20) // (128 * SECTOR) or st.get("requests_failed"):
        return False, "requests done/failed: %s" % st
    return True, "killed at %d MiB, 1.5 s outage, %d retransmits, %d announcements, sha256 " \
        "equal, every request completed once" % (at >> 20, st["retransmits"], st["announcements"])


@test
def vblade_restart_mid_read_loses_nothing():
    return restart_mid_transfer("copy-out")


@test
def vblade_restart_mid_write_loses_nothing():
    return restart_mid_transfer("copy-in")


@test
def long_outage_fails_cleanly_after_the_deadline():
    img = big_image()
    ensure_vblade(img)
    bg = Background(["-d", "2", "--rto-max", "500"], "copy-out", ENV.path("outage.img"))
    if not bg.wait_progress(4 << 20):
        return False, "the transfer ended before vblade could be killed"
    ENV.stop_vblade()
    t_kill = time.monotonic()
    r = bg.finish(timeout=60)
    waited = time.monotonic() - t_kill
    st = r.stats()
    if r.rc != 1 or "timed out" not in r.err or st.get("deadline_failures", 0) < 1:
        return False, "expected exit 1 with a deadline failure (%s)" % r.why()
    if waited < 1.9:
        return False, "gave up after %.2f s, before the 2 s deadline" % waited
    nt = run_client(["--discover-timeout", "1"], "info", limit=20)
    if nt.rc != 1 or "no answer" not in nt.err:
        return False, "info without a target did not fail cleanly (%s)" % nt.why()
    return True, "exit 1 %.2f s after the kill (deadline 2 s); no target -> clean error" % waited


# ---------------------------------------------------------------- main


def selected(name, only):
    if not only:
        return True
    for p in only.split(","):
        p = p.strip()
        if p and (p in name or fnmatch.fnmatch(name, p)):
            return True
    return False


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--peer":
        iface, shelf, slot, mode, sectors = sys.argv[2:7]
        Peer(iface, int(shelf), int(slot), mode, int(sectors)).serve()
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", metavar="PATTERN", help="tests whose name contains or matches PATTERN")
    args = ap.parse_args()
    chosen = [t for t in TESTS if selected(t.__name__, args.only)]
    if not chosen:
        print("FAIL aoe_vblade: no test matches '%s'" % args.only)
        return 1
    if not os.access(CLIENT, os.X_OK):
        print("FAIL aoe_vblade: %s not built (make aoe-tools)" % CLIENT)
        return 1
    if shutil.which("vblade") is None or os.geteuid() != 0:
        print("FAIL aoe_vblade: needs root and vblade (package vblade)")
        return 1
    atexit.register(ENV.cleanup)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    failed = 0
    try:
        ENV.setup()
        for t in chosen:
            t0 = time.monotonic()
            try:
                ok, detail = t()
            except Exception as e:  # a broken test is a failure, not the end of the suite
                ok, detail = False, "%s: %s" % (type(e).__name__, e)
            tag = "PASS aoe/%s" % t.__name__ if ok else "FAIL aoe/%s:" % t.__name__
            print("%s %s [%.1fs]" % (tag, detail, time.monotonic() - t0), flush=True)
            failed += 0 if ok else 1
    except Exception as e:
        print("FAIL aoe_vblade: setup: %s: %s" % (type(e).__name__, e), flush=True)
        failed += 1
    finally:
        ENV.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
