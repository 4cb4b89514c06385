#!/usr/bin/env python3
"""The VPN tunnel in the monitor (run by tests/bench/bench.py): its cost and its set-up time.

The network of tests/suites/vpn_tunnel.py (charon with kernel-libipsec in the tap's namespace,
a server behind it), QEMU pc (TCG, -cpu max, 512 MiB), the demo guest with TSO on, its driver's default, in both
runs (copy-out cuts its packets into frames in the mediator; the plain NIC hands them to the
device):
- vpn_tcp_tx_MBps: the guest sends MB MiB over TCP to the server through the tunnel; the peer
  is the same guest and server over the plain mediated NIC (thinvisor with [network] only,
  routed by the gateway's namespace in clear). Goal: ratio >= 0.7.
- vpn_setup_ms: from the IKE_SA_INIT request to the first ESP packet that carries a guest
  packet (the guest pings the server every 10 ms), both read from a capture of the outer link,
  after charon dropped the SA (`swanctl --terminate --force`: the monitor sees the Delete and
  starts over); the peer is a strongSwan initiator (charon, kernel-libipsec, in a namespace of
  its own, pinging every 10 ms like the guest) to the same responder, timed the same way. Median of SAMPLES
  each. Goal: ratio <= 1.0. The monitor's own figure (its log line) goes into extra, and so
  does each side's time to the gateway's IKE_AUTH response (`sa_up_ms`: the SAs are up, no
  wait for the next ping in it).
With --before ELF (or TV_BENCH_BEFORE, `make bench BEFORE=REF`) the VPN run is made with that
monitor first, in the same run, and recorded with a `_before` suffix.
Appends JSON lines to build/bench/results.jsonl."""
import argparse
import os
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import vpn_tunnel as vt  # noqa: E402
import nic_bench  # noqa: E402

PID = os.getpid()
CONF_VPN = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
            "[vpn]\ngateway = %s\nlocal_id = %s\nremote_id = %s\nauth = psk\npsk = vpn.psk\n"
            "inner_address = %s/24\ndns = %s\ndpd_interval = 5\n"
            % (vt.MON_MAC, vt.MON_IP, vt.GW_IP, vt.GW_IP, vt.CLIENT_ID, vt.GW_ID, vt.INNER, vt.DNS))
CONF_PLAIN = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
              % (vt.MON_MAC, vt.MON_IP, vt.GW_IP))
PLAIN_GUEST = "10.77.0.50"
CLIENT_NS = ("tvvc%d" % PID)[:15]
CLIENT_IP, CLIENT_GW = "10.78.0.2", "10.78.0.1"
CLIENT_SWANCTL = """connections {
  tv {
    version = 2
    local_addrs = %(me)s
    remote_addrs = %(gw)s
    vips = 0.0.0.0
    proposals = aes256gcm16-prfsha256-x25519
    local {
      auth = psk
      id = %(client_id)s
    }
    remote {
      auth = psk
      id = %(gw_id)s
    }
    children {
      net {
        remote_ts = 10.2.0.0/24
        esp_proposals = aes256gcm16
      }
    }
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


def read_pcap_ts(path):
    """[(seconds, frame)] of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = data[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl = struct.unpack(endian + "III", data[off:off + 12])
        out.append((sec + frac / (1e9 if nano else 1e6), data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return out


def setup_times(pcap, client_ip, marks, sa_up=None):
    """Per mark (the wall time a sample began): ms from the client's last IKE_SA_INIT request to
    its first ESP packet after it. sa_up, a list, gets the ms to the gateway's IKE_AUTH response
    (the SAs are up then; no wait for the next guest packet in it)."""
    frames = read_pcap_ts(pcap)
    out = []
    for m in marks:
        init = auth = None
        for ts, f in frames:
            u = vt.udp_of(f) if ts >= m else None
            if not u:
                continue
            p = u[4]
            q = p[4:] if p[:4] == b"\0\0\0\0" else p
            if u[1] == client_ip and init is not None and auth is None and len(q) > 19 and q[18] == 35 \
                    and q[19] & 0x20:
                auth = ts
            if u[0] != client_ip:
                continue
            if len(q) > 19 and q[18] == 34 and q[19] & 0x08 and not q[19] & 0x20:  # IKE_SA_INIT request
                init, auth = ts, None
            elif u[3] != 500 and init is not None and len(p) > 8 and p[:4] != b"\0\0\0\0":
                out.append(round((ts - init) * 1000, 1))
                if sa_up is not None and auth is not None:
                    sa_up.append(round((auth - init) * 1000, 1))
                break
    return out


def transfer(env, g, mb, profile=None):
    """MB/s of one transfer; profile, a dict, gets the exits per MiB and the changes of the exit
    and device counters over it (nic_bench.Phase: the same counters in both runs)."""
    out, rc = g.run("dd if=/dev/urandom of=/tmp/blob bs=1M count=%d 2>/dev/null" % mb, 300)
    n0 = len(env.server.bulk)
    ph = nic_bench.Phase(g, True) if profile is not None else None
    t0 = time.monotonic()
    g.run("nc %s %d < /tmp/blob" % (vt.SERVER, vt.BULK_PORT), 1500)
    secs = time.monotonic() - t0
    if ph:
        exits, moved = ph.end(mb)
        profile.update(exits_per_MiB=round(exits, 1) if exits is not None else None, secs=round(secs, 2),
                       moved={k: v for k, v in sorted(moved.items()) if v})
    end = time.monotonic() + 30
    while len(env.server.bulk) == n0 and time.monotonic() < end:
        time.sleep(0.2)
    if len(env.server.bulk) == n0 or env.server.bulk[-1][0] != mb << 20:
        raise RuntimeError("transfer incomplete: %s" % (env.server.bulk[-1:],))
    return (mb << 20) / secs / 1e6


def vpn_run(work, mb, samples, profile):
    """(MB/s through the tunnel, set-up ms from the capture, set-up ms from the monitor log);
    profile gets the transfer's exits and counters."""
    env = vt.Env()
    run = vt.Run(env, work)
    try:
        env.setup(work)
        env.start_charon(env.psk)
        psk = os.path.join(work, "vpn.psk")
        with open(psk, "w") as f:
            f.write(env.psk + "\n")
        run.g = g = vt.start_guest(env.net, work, conf_text=CONF_VPN, machine="pc", guest_mac=vt.GUEST_MAC,
                             timeout=1700, modules=(psk,))
        if not g.wait_shell(400):
            raise RuntimeError("no shell")
        g.run("cat > /tmp/dhcp.sh <<'EOF'\n%sEOF\nchmod +x /tmp/dhcp.sh" % vt.DHCP_SCRIPT, 30)
        g.run("ip link set eth0 up", 30)
        out, rc = g.run("udhcpc -i eth0 -n -q -t 10 -T 2 -O mtu -s /tmp/dhcp.sh 2>&1", 120)
        if vt.INNER not in out or not vt.wait_log(g, r"vpn: tunnel up", 120):
            raise RuntimeError("no tunnel: %r" % out[-200:])
        mbps = transfer(env, g, mb, profile)
        marks, logged = [], []
        g.run("(ping -i 0.01 %s > /dev/null 2>&1 &)" % vt.SERVER, 10)
        for _ in range(samples):
            time.sleep(1)
            mark = len(g.monitor_log())
            marks.append(time.time())
            env.swanctl("--terminate", "--ike", "tv", "--force")
            m = vt.wait_log(g, r"first guest packet through the tunnel (\d+) ms after IKE_SA_INIT", 90, mark)
            if not m:
                raise RuntimeError("the tunnel did not come back after charon dropped it")
            logged.append(int(m.group(1)))
        g.run("killall ping", 10)
        g.power_off(120)
        env.stop_dump()
        sa_up = []
        return mbps, setup_times(env.pcap, vt.MON_IP, marks, sa_up), logged, sa_up
    finally:
        if run.g:
            run.g.kill()
        env.cleanup()


def plain_run(work, mb, profile):
    """MB/s from the same guest to the same server over the plain mediated NIC; profile gets the
    transfer's exits and counters."""
    env = vt.Env()
    g = None
    try:
        env.setup(work)
        g = vt.start_guest(env.net, work, conf_text=CONF_PLAIN, machine="pc", guest_mac=vt.GUEST_MAC, timeout=1700)
        if not g.wait_shell(400):
            raise RuntimeError("no shell")
        g.run("ip link set eth0 up; ip addr add %s/24 dev eth0; "
              "ip route add default via %s" % (PLAIN_GUEST, vt.GW_IP), 30)
        return transfer(env, g, mb, profile)
    finally:
        if g:
            g.kill()
        env.cleanup()


def swan_run(work, samples):
    """Set-up ms of a strongSwan initiator (its own namespace) to the same responder."""
    env = vt.Env()
    client = dump = pinger = None
    cdir = tempfile.mkdtemp(prefix="tvvc%d-" % PID)
    try:
        env.setup(work)
        env.start_charon(env.psk)
        ns = env.net.ns
        nl.sh("ip", "netns", "add", CLIENT_NS)
        nl.sh("ip", "-n", CLIENT_NS, "link", "set", "lo", "up")
        a, b = ("tvvca%d" % PID)[:15], ("tvvcb%d" % PID)[:15]
        nl.sh("ip", "link", "add", a, "netns", ns, "type", "veth", "peer", "name", b, "netns", CLIENT_NS)
        nl.sh("ip", "-n", ns, "addr", "add", CLIENT_GW + "/24", "dev", a)
        nl.sh("ip", "-n", ns, "link", "set", a, "up")
        nl.sh("ip", "-n", CLIENT_NS, "addr", "add", CLIENT_IP + "/24", "dev", b)
        nl.sh("ip", "-n", CLIENT_NS, "link", "set", b, "up")
        nl.sh("ip", "-n", CLIENT_NS, "route", "add", "default", "via", CLIENT_GW)
        with open(os.path.join(cdir, "strongswan.conf"), "w") as f:
            f.write(vt.STRONGSWAN_CONF.replace("chd = 4\n", "") % {"dir": cdir})
        with open(os.path.join(cdir, "swanctl.conf"), "w") as f:
            f.write(CLIENT_SWANCTL % {"me": CLIENT_IP, "gw": vt.GW_IP, "client_id": vt.CLIENT_ID,
                                      "gw_id": vt.GW_ID, "psk": env.psk})
        inner = "mount -t tmpfs x /run && STRONGSWAN_CONF=%s exec %s" % (os.path.join(cdir, "strongswan.conf"),
                                                                         vt.CHARON)
        client = subprocess.Popen(["ip", "netns", "exec", CLIENT_NS, "unshare", "-m", "--propagation", "private",
                                   "sh", "-c", inner], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        uri = "unix://" + os.path.join(cdir, "charon.vici")
        end = time.time() + 15
        while not os.path.exists(os.path.join(cdir, "charon.vici")) and time.time() < end:
            time.sleep(0.05)
        nl.sh("swanctl", "--load-all", "--uri", uri, "--file", os.path.join(cdir, "swanctl.conf"), timeout=15)
        pcap = os.path.join(work, "client.pcap")
        dump = subprocess.Popen(["ip", "netns", "exec", CLIENT_NS, "tcpdump", "-U", "--immediate-mode", "-n",
                                 "-Z", "root", "-i", b, "-w", pcap], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        pinger = subprocess.Popen(["ip", "netns", "exec", CLIENT_NS, "busybox", "ping", "-i", "0.01", "-q", vt.SERVER],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(2)
        marks = []
        for _ in range(samples):
            marks.append(time.time())
            nl.sh("swanctl", "--initiate", "--uri", uri, "--child", "net", timeout=30)
            time.sleep(1)
            nl.sh("swanctl", "--terminate", "--uri", uri, "--ike", "tv", "--force", timeout=30, check=False)
            time.sleep(1)
        nl.kill_group(pinger)
        os.killpg(dump.pid, 2)  # SIGINT: tcpdump writes its last packets
        dump.wait(10)
        sa_up = []
        return setup_times(pcap, CLIENT_IP, marks, sa_up), sa_up
    finally:
        for p in (pinger, dump, client):
            nl.kill_group(p)
        subprocess.run(["timeout", "10", "ip", "netns", "del", CLIENT_NS], stderr=subprocess.DEVNULL)
        env.cleanup()
        shutil.rmtree(cdir, ignore_errors=True)


def workdir(name):
    """build/bench/vpn_tunnel/NAME, emptied: the logs of the last run stay for a look."""
    d = os.path.join(ROOT, "build", "bench", "vpn_tunnel", name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def profile_text(p):
    """One line: exits per MiB and the biggest per-MiB changes of the exit and device counters."""
    if not p:
        return "-"
    mb = p.get("mb") or 1
    moved = p.get("moved", {})
    top = sorted(moved.items(), key=lambda kv: -kv[1])[:14]
    return "%s exits/MiB; per MiB: %s; retransmitted segments %s" % (
        p.get("exits_per_MiB"), " ".join("%s=%.0f" % (k, v / mb) for k, v in top), moved.get("tcp-RetransSegs", 0))


def record_vpn(label, vpn_mbps, vpn_setup, logged, sa_up, profile, plain, swan_all, mb, plain_profile=None):
    """The two lines of one monitor (label "after" is this tree's; another gets a suffix)."""
    swan, swan_sa_up = swan_all if swan_all else (None, None)
    suffix = "" if label == "after" else "_" + label
    at = dict(machine="pc", cpu="max", vendor="amd")
    bl.record("vpn_tcp_tx_MBps" + suffix, round(vpn_mbps, 3), "MB/s",
              peer="same guest over the plain mediated NIC" if plain else None,
              peer_value=round(plain, 3) if plain else None, goal=bl.goal("ratio", ">=", 0.7),
              extra={"mb": mb, "tso": "on in the guest in both runs (copy-out cuts its packets)", "binary": label,
                     "profile": profile, "peer_profile": plain_profile},
              **at)
    med = statistics.median(vpn_setup) if vpn_setup else None
    peer = statistics.median(swan) if swan else None
    if med is not None:
        bl.record("vpn_setup_ms" + suffix, med, "ms", peer="strongSwan initiator to the same responder" if peer else None,
                  peer_value=peer, goal=bl.goal("ratio", "<=", 1.0), runs=len(vpn_setup), samples=vpn_setup,
                  extra={"monitor_log_ms": logged, "peer_samples": swan, "binary": label, "sa_up_ms": sa_up,
                         "peer_sa_up_ms": swan_sa_up}, **at)
    print("%-6s vpn tcp tx %.2f MB/s (plain NIC %s, ratio %s); set-up %s ms, median %s (strongSwan %s ms, median %s, "
          "ratio %s; monitor log %s); SAs up %s ms (strongSwan %s)"
          % (label, vpn_mbps, "%.2f" % plain if plain else "-", "%.3f" % (vpn_mbps / plain) if plain else "-",
             vpn_setup, med, swan, peer, "%.2f" % (med / peer) if med is not None and peer else "-", logged,
             sa_up, swan_sa_up))
    print("%-6s vpn  transfer: %s" % (label, profile_text(profile)))
    if plain_profile:
        print("%-6s plain transfer: %s" % (label, profile_text(plain_profile)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=1 if bl.smoke() else 16)
    ap.add_argument("--samples", type=int, default=1 if bl.smoke() else 3)
    ap.add_argument("--monitor", help="the monitor ELF to measure (default build/thinvisor.elf)")
    ap.add_argument("--before", help="an older monitor ELF measured first in the same run "
                    "(default: TV_BENCH_BEFORE from `make bench BEFORE=REF`)")
    ap.add_argument("--no-swan", action="store_true", help="leave out the strongSwan set-up peer "
                    "(a throughput look only)")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=CMDLINE",
                    help="the tunnel and the plain NIC once more with this monitor command line (printed only)")
    args = ap.parse_args()
    after = args.monitor or nl.MONITOR
    before = None if bl.smoke() else (args.before or bl.before_monitor())
    runs = ([("before", before)] if before else []) + [("after", after)]
    results = {}
    for label, elf in runs:
        nl.MONITOR = elf  # Guest() reads the module's MONITOR
        prof = {"mb": args.mb}
        res = vpn_run(workdir("vpn" if label == "after" else "vpn_" + label), args.mb, args.samples, prof)
        results[label] = res + (prof,)
    plain = swan = None
    plain_prof = {"mb": args.mb}
    if not bl.smoke():  # smoke: the VPN boot alone, no peers
        nl.MONITOR = after
        plain = plain_run(workdir("plain"), args.mb, plain_prof)
        if not args.no_swan:
            swan = swan_run(workdir("strongswan"), args.samples)
    for label, _ in runs:
        record_vpn(label, *results[label], plain, swan, args.mb, plain_prof if plain else None)
    for v in args.variant:
        show_variant(*v.split("=", 1), after, args.mb)
    return 0


def show_variant(name, cmdline, elf, mb):
    """Both transfers of one monitor command line, their ratio and profiles (not recorded)."""
    old = os.environ.get("TV_MONITOR_APPEND")
    os.environ["TV_MONITOR_APPEND"] = cmdline
    try:
        nl.MONITOR = elf
        prof, plain_prof = {"mb": mb}, {"mb": mb}
        vpn = vpn_run(workdir("vpn_" + name), mb, 1, prof)[0]
        plain = plain_run(workdir("plain_" + name), mb, plain_prof)
    finally:
        if old is None:
            os.environ.pop("TV_MONITOR_APPEND", None)
        else:
            os.environ["TV_MONITOR_APPEND"] = old
    print("%-6s vpn tcp tx %.2f MB/s (plain NIC %.2f, ratio %.3f) with %r" % (name, vpn, plain, vpn / plain, cmdline))
    print("%-6s vpn  transfer: %s" % (name, profile_text(prof)))
    print("%-6s plain transfer: %s" % (name, profile_text(plain_prof)))


if __name__ == "__main__":
    sys.exit(main())
