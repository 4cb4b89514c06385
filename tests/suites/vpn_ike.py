#!/usr/bin/env python3
"""The IKEv2 initiator (build/tools/ike-client, built from vpn/ike/) against strongSwan.

Creates three private network namespaces (names carry this process's PID): the client, the
gateway running charon (kernel-libipsec, swanctl.conf, PSK) and a server behind the gateway,
joined by two veth pairs. Checks that the IKE SA and the child SA come up and that charon lists
them as ESTABLISHED/INSTALLED with the client's SPIs and deletes them when the client does; DH
groups 31, 19 and 14 each; a child SA and the IKE SA rekeyed by the client (CREATE_CHILD_SA), and the child SA rekeyed by
charon; INVALID_KE_PAYLOAD (a gateway that takes only group 14); a wrong PSK
(a clear AUTHENTICATION_FAILED line, no SA); and a gateway absent at start (the client keeps
retrying and comes up once charon starts); and ICMP echoes through the tunnel (the client's TUN
device and vpn/'s ESP) to the server, also across rekeys.

Certificates: a CA made in the test with strongSwan's pki (ECDSA P-256 and RSA end-entity
certificates for both sides, the client's RSA key 3072 bits); an ECDSA run and an RSA run with 16 echoes each, the RSA one over
a 1280-byte-MTU link where its IKE_AUTH gets through only as IKE fragments (the same run with
fragmentation effectively off must fail); a CA the gateway's certificate is not from, and an
identity its certificate does not name, each refused with its own line. Rekeys by charon: the IKE
SA every 2 s during 16 echoes (the client answers as the new SA's original responder), and a
collision: both sides rekey the IKE SA at once (the client sees charon's messages 300 ms late so
that the requests cross); charon's is answered TEMPORARY_FAILURE, 16 of 16 echoes.

Prints `PASS name ...` or `FAIL name: why` per test and exits non-zero if anything failed.
Everything it creates (namespaces, veth, charon, files) is removed on exit, also after a
failure or a signal. Needs root. `--only PATTERN` selects tests, `--list` lists them.
"""
import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _netlib as nl  # noqa: E402  (sh, kill_group, cleanup on signals)
import _ike_pki  # noqa: E402  (the test CA and certificates)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLIENT = os.environ.get("IKE_CLIENT") or os.path.join(ROOT, "build", "tools", "ike-client")
LOGS = os.path.join(ROOT, "build", "test-results", "vpn_ike")
CHARON = "/usr/lib/ipsec/charon"
PID = os.getpid()
NS_C, NS_G, NS_S = "tvik%dc" % PID, "tvik%dg" % PID, "tvik%ds" % PID
CLIENT_IP, GW_IP, GW_LAN, SERVER_IP = "10.9.0.2", "10.9.0.1", "10.2.0.1", "10.2.0.2"
CLIENT_ID, GW_ID = "client@thinvisor.test", "gw.thinvisor.test"
ALL_GROUPS = "x25519-ecp256-modp2048"
GROUP_NAME = {31: "CURVE_25519", 19: "ECP_256", 14: "MODP_2048"}

STRONGSWAN_CONF = """charon {
  load = random nonce openssl aes sha1 sha2 hmac gcm kdf pem pkcs1 pkcs8 x509 pubkey constraints curve25519 gmp kernel-libipsec kernel-netlink socket-default vici
  install_routes = yes
  retransmit_tries = 2
  filelog {
    main {
      path = %(dir)s/charon.log
      flush_line = yes
      default = 1
      ike = 2
      cfg = 1
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
    proposals = %(proposals)s
    pools = vips
    dpd_delay = 0
%(conn_extra)s
%(auth)s
    children {
      net {
        local_ts = 0.0.0.0/0
        esp_proposals = aes256gcm16-aes128gcm16
%(child_extra)s
      }
    }
  }
}
pools {
  vips {
    addrs = 10.3.0.10-10.3.0.20
    dns = 10.3.0.53
  }
}
secrets {
%(secrets)s
}
"""

PSK_AUTH = """    local {
      auth = psk
      id = %(gw_id)s
    }
    remote {
      auth = psk
      id = %(client_id)s
    }"""
PSK_SECRETS = """  ike-tv {
    id-client = %(client_id)s
    id-gw = %(gw_id)s
    secret = "%(psk)s"
  }"""
CERT_AUTH = """    local {
      auth = pubkey
      certs = %(dir)s/gw-%(kind)s.pem
      id = %(gw_id)s
    }
    remote {
      auth = pubkey
      id = %(client_id)s
      cacerts = %(dir)s/ca.pem
    }"""
CERT_SECRETS = ""  # the gateway's keys are in the ecdsa/ and rsa/ folders beside swanctl.conf


class Env:
    def __init__(self):
        self.tmp = None
        self.charon = None
        self.procs = []
        self.up = False
        self.psk = "tv-ike-%d-%s" % (PID, os.urandom(6).hex())

    def setup(self):
        os.makedirs(LOGS, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix="tvik%d-" % PID)
        os.chmod(self.tmp, 0o700)
        self.up = True
        nl._ALL.append(self)  # removed by _netlib's atexit/signal handlers too
        for ns in (NS_C, NS_G, NS_S):
            nl.sh("ip", "netns", "add", ns)
            nl.sh("ip", "-n", ns, "link", "set", "lo", "up")
        nl.sh("ip", "link", "add", "tvikc%d" % PID, "netns", NS_C, "type", "veth", "peer", "name", "tvikg%d" % PID,
              "netns", NS_G)
        nl.sh("ip", "link", "add", "tviks%d" % PID, "netns", NS_S, "type", "veth", "peer", "name", "tvikl%d" % PID,
              "netns", NS_G)
        for ns, dev, addr in ((NS_C, "tvikc", CLIENT_IP), (NS_G, "tvikg", GW_IP), (NS_G, "tvikl", GW_LAN),
                              (NS_S, "tviks", SERVER_IP)):
            nl.sh("ip", "-n", ns, "addr", "add", addr + "/24", "dev", dev + str(PID))
            nl.sh("ip", "-n", ns, "link", "set", dev + str(PID), "up")
        nl.sh("ip", "-n", NS_S, "route", "add", "default", "via", GW_LAN)
        nl.sh("ip", "netns", "exec", NS_G, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        with open(self.path("psk"), "w") as f:
            f.write(self.psk + "\n")
        with open(self.path("wrong-psk"), "w") as f:
            f.write(self.psk + "-wrong\n")
        with open(self.path("strongswan.conf"), "w") as f:
            f.write(STRONGSWAN_CONF % {"dir": self.tmp})

    def path(self, name):
        return os.path.join(self.tmp, name)

    def start_charon(self):
        log = open(self.path("charon.out"), "w")
        inner = "mount -t tmpfs x /run && STRONGSWAN_CONF=%s exec %s" % (self.path("strongswan.conf"), CHARON)
        self.charon = subprocess.Popen(["ip", "netns", "exec", NS_G, "unshare", "-m", "--propagation", "private",
                                        "sh", "-c", inner], stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        deadline = time.time() + 15
        while not os.path.exists(self.path("charon.vici")):
            if time.time() > deadline or self.charon.poll() is not None:
                raise RuntimeError("charon did not start (see %s)" % self.path("charon.log"))
            time.sleep(0.05)
        self.load()

    def stop_charon(self):
        nl.kill_group(self.charon)
        self.charon = None
        try:
            os.unlink(self.path("charon.vici"))
        except OSError:
            pass

    def load(self, proposals="aes256gcm16-aes128gcm16-prfsha256-" + ALL_GROUPS, kind="psk", ike_rekey=None,
             child_rekey=None):
        """Loads the connection: PSK, or certificates of `kind` ("ecdsa" or "rsa"); charon rekeys the
        IKE SA and the child SA every ike_rekey / child_rekey seconds if given (no random jitter)."""
        v = {"gw": GW_IP, "proposals": proposals, "gw_id": GW_ID, "client_id": CLIENT_ID, "psk": self.psk,
             "dir": self.tmp, "kind": kind,
             "conn_extra": "    rekey_time = %ds\n    rand_time = 0s\n    over_time = 60s" % ike_rekey if ike_rekey else "",
             "child_extra": "        rekey_time = %ds\n        rand_time = 0s\n        life_time = 120s" % child_rekey if child_rekey else ""}
        v["auth"] = (PSK_AUTH if kind == "psk" else CERT_AUTH) % v
        v["secrets"] = (PSK_SECRETS if kind == "psk" else CERT_SECRETS) % v
        with open(self.path("swanctl.conf"), "w") as f:
            f.write(SWANCTL_CONF % v)
        os.makedirs(self.path("swanctl"), exist_ok=True)
        self.swanctl("--load-all", "--clear", "--file", self.path("swanctl.conf"))

    def swanctl(self, *args):
        return nl.sh("swanctl", args[0], "--uri", "unix://" + self.path("charon.vici"), *args[1:], timeout=15)

    def make_pki(self):
        """The test PKI in the temporary folder, once (tests/suites/_ike_pki.py)."""
        _ike_pki.make(self.path, "%d" % PID, GW_ID, CLIENT_ID)

    def cert_args(self, kind, ca="ca"):
        return ["--ca", self.path(ca + ".pem"), "--cert", self.path("client-%s.pem" % kind),
                "--key", self.path("client-%s.key" % kind)]

    def client_cmd(self, *extra, psk="psk", remote_id=GW_ID, auth=None):
        """auth: cert_args(), or None for the PSK file `psk`."""
        return ["ip", "netns", "exec", NS_C, CLIENT, "--local", CLIENT_IP, "--gw", GW_IP, "--id", CLIENT_ID,
                "--remote-id", remote_id] + (auth or ["--psk-file", self.path(psk)]) + list(extra)

    def client_bg(self, name, *extra, psk="psk", remote_id=GW_ID, auth=None):
        out = open(os.path.join(LOGS, name + ".log"), "w")
        p = subprocess.Popen(["timeout", "60"] + self.client_cmd(*extra, psk=psk, remote_id=remote_id, auth=auth),
                             stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(p)
        return p, os.path.join(LOGS, name + ".log")

    def cleanup(self):
        if not self.up:
            return
        self.up = False
        for p in self.procs:
            nl.kill_group(p)
        self.stop_charon()
        for ns in (NS_C, NS_G, NS_S):
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        if self.tmp:
            for name in ("charon.log", "swanctl.conf"):
                if os.path.exists(self.path(name)):
                    shutil.copy(self.path(name), os.path.join(LOGS, name))
            shutil.rmtree(self.tmp, ignore_errors=True)
        if self in nl._ALL:
            nl._ALL.remove(self)


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def wait_for(path, pattern, proc, timeout):
    """The first match of pattern in the log at path, or None once proc ended or time ran out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = re.search(pattern, read(path))
        if m:
            return m
        if proc.poll() is not None:
            return re.search(pattern, read(path))
        time.sleep(0.05)
    return None


def finish(proc, timeout=15):
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        nl.kill_group(proc)
        return None


def bring_up(env, name, *extra, expect_group=None):
    """Runs the client until its SAs are up, checks them in charon's list, lets it delete them."""
    p, log = env.client_bg(name, "--up-for", "1.5", "--deadline", "20", *extra)
    ike = wait_for(log, r"IKE_SA_UP spi_i=([0-9a-f]{16}) spi_r=([0-9a-f]{16}) group=(\d+)", p, 20)
    child = re.search(r"CHILD_SA_UP spi_in=([0-9a-f]{8}) spi_out=([0-9a-f]{8}) inner=([\d.]+)", read(log))
    if not ike or not child:
        finish(p)
        return "no SA came up: %s" % read(log).strip().splitlines()[-3:]
    sas = env.swanctl("--list-sas")
    spi_i, spi_r, group = ike.group(1), ike.group(2), int(ike.group(3))
    spi_in, spi_out, inner = child.groups()
    problems = []
    if not re.search(r"ESTABLISHED, IKEv2, %s_i %s_r" % (spi_i, spi_r), sas):
        problems.append("charon lists no ESTABLISHED IKE SA %s_i %s_r" % (spi_i, spi_r))
    if not re.search(r"INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16", sas):
        problems.append("charon lists no INSTALLED ESP-in-UDP child SA")
    # charon's "in" is our "out" and the other way round
    if not re.search(r"in\s+%s" % spi_out, sas) or not re.search(r"out\s+%s" % spi_in, sas):
        problems.append("charon's child SPIs are not in %s / out %s" % (spi_out, spi_in))
    if not inner.startswith("10.3.0."):
        problems.append("inner address %s not from the pool" % inner)
    if expect_group and (group != expect_group or GROUP_NAME[expect_group] not in sas):
        problems.append("group %d (charon: %s), expected %d" % (group, sas.count(GROUP_NAME.get(group, "?")),
                                                                 expect_group))
    rc = finish(p)
    if rc != 0 or "IKE SA deleted" not in read(log) or "CLOSED" not in read(log):
        problems.append("client did not delete the SA cleanly (exit %s)" % rc)
    time.sleep(0.2)
    if spi_i in env.swanctl("--list-sas"):
        problems.append("charon still lists the IKE SA after the client's Delete")
    return "; ".join(problems) or None


def t_gateway_absent(env):
    p, log = env.client_bg("gateway_absent", "--keep-trying", "--up-for", "0.5", "--deadline", "30")
    time.sleep(2.5)
    tries = len(re.findall(r"retransmitting message 0", read(log)))
    env.start_charon()
    up = wait_for(log, r"CHILD_SA_UP", p, 15)
    rc = finish(p)
    if tries < 2:
        return "the client did not retransmit IKE_SA_INIT while the gateway was absent (%d)" % tries
    if not up or rc != 0:
        return "no SA once charon started (exit %s): %s" % (rc, read(log).strip().splitlines()[-2:])
    return None


def t_sa_up(env):
    return bring_up(env, "sa_up")


def t_group(g):
    def t(env):
        return bring_up(env, "group%d" % g, "--groups", str(g), expect_group=g)
    return t


def t_invalid_ke(env):
    env.load(proposals="aes256gcm16-prfsha256-modp2048")
    try:
        why = bring_up(env, "invalid_ke", "--groups", "31,19,14", expect_group=14)
        if why is None and "INVALID_KE_PAYLOAD" not in read(os.path.join(LOGS, "invalid_ke.log")):
            why = "came up with group 14 but never saw INVALID_KE_PAYLOAD"
        return why
    finally:
        env.load()


def t_no_proposal(env):
    env.load(proposals="aes128-sha256-modp2048")
    try:
        p, log = env.client_bg("no_proposal", "--deadline", "10")
        rc = finish(p)
        if rc != 2 or "NO_PROPOSAL_CHOSEN" not in read(log):
            return "expected a NO_PROPOSAL_CHOSEN failure, got exit %s: %s" % (rc, read(log).strip()[-200:])
        return None
    finally:
        env.load()


def t_child_rekey(env):
    p, log = env.client_bg("child_rekey", "--child-rekey", "1000", "--up-for", "1.8", "--deadline", "20")
    done = wait_for(log, r"old child SA ([0-9a-f]{8})/([0-9a-f]{8}) deleted", p, 15)
    ups = re.findall(r"CHILD_SA_UP spi_in=([0-9a-f]{8}) spi_out=([0-9a-f]{8})", read(log))
    if not done or len(ups) < 2:
        finish(p)
        return "no completed child SA rekey: %s" % read(log).strip().splitlines()[-3:]
    time.sleep(0.2)
    sas = env.swanctl("--list-sas")
    with open(os.path.join(LOGS, "child_rekey.sas"), "w") as f:
        f.write(sas)
    new_in, new_out = ups[-1]
    old_in, old_out = ups[0]
    rc = finish(p)
    problems = []
    # charon keeps a rekeyed child a few seconds as DELETED, for packets still in flight
    blocks = {}
    for b in sas.split("  net: #")[1:]:
        state = b.split(",")[2].strip() if b.count(",") > 2 else ""
        blocks[state] = blocks.get(state, "") + b
    installed = blocks.get("INSTALLED", "")
    if not re.search(r"in\s+%s" % new_out, installed) or not re.search(r"out\s+%s" % new_in, installed):
        problems.append("charon does not list the rekeyed child SA %s/%s as INSTALLED" % (new_in, new_out))
    if old_in in installed or old_out in installed:
        problems.append("charon still has the old child SA %s/%s INSTALLED" % (old_in, old_out))
    if old_out in sas and old_out not in blocks.get("DELETED", ""):
        problems.append("the old child SA %s/%s is listed but not DELETED" % (old_in, old_out))
    if rc != 0:
        problems.append("client exit %s" % rc)
    return "; ".join(problems) or None


def t_ike_rekey(env):
    p, log = env.client_bg("ike_rekey", "--ike-rekey", "800", "--up-for", "1.8", "--deadline", "20")
    m = wait_for(log, r"IKE SA rekeyed: ([0-9a-f]{16})/([0-9a-f]{16}) replaces ([0-9a-f]{16})/([0-9a-f]{16})", p, 15)
    if not m:
        finish(p)
        return "no IKE SA rekey: %s" % read(log).strip().splitlines()[-3:]
    time.sleep(0.2)
    sas = env.swanctl("--list-sas")
    with open(os.path.join(LOGS, "ike_rekey.sas"), "w") as f:
        f.write(sas)
    rc = finish(p)
    new_i, new_r, old_i, old_r = m.groups()
    problems = []
    block = sas.split("%s_i %s_r" % (new_i, new_r))
    if len(block) < 2 or "ESTABLISHED" not in block[0].splitlines()[-1]:
        problems.append("charon does not list the new IKE SA %s_i %s_r as ESTABLISHED" % (new_i, new_r))
    elif "INSTALLED, TUNNEL-in-UDP" not in block[1].split("tv: #")[0]:
        problems.append("the child SA did not move to the new IKE SA")
    if re.search(r"ESTABLISHED, IKEv2, %s_i" % old_i, sas):
        problems.append("charon still lists the old IKE SA %s as ESTABLISHED" % old_i)
    text = read(log)
    if rc != 0 or "IKE SA deleted" not in text or "dropped" in text or "did not answer" in text:
        problems.append("the new IKE SA does not work: its Delete went unanswered or messages were dropped "
                        "(exit %s)" % rc)
    return "; ".join(problems) or None


def t_gateway_rekeys_child(env):
    p, log = env.client_bg("gateway_rekey", "--up-for", "2.5", "--deadline", "20")
    first = wait_for(log, r"CHILD_SA_UP spi_in=([0-9a-f]{8}) spi_out=([0-9a-f]{8})", p, 15)
    if not first:
        finish(p)
        return "no SA came up: %s" % read(log).strip().splitlines()[-3:]
    env.swanctl("--rekey", "--child", "net")
    done = wait_for(log, r"old child SA [0-9a-f/]+ deleted by the gateway", p, 10)
    ups = re.findall(r"CHILD_SA_UP spi_in=([0-9a-f]{8}) spi_out=([0-9a-f]{8})", read(log))
    sas = env.swanctl("--list-sas")
    rc = finish(p)
    if not done or len(ups) < 2:
        return "the gateway's rekey did not complete: %s" % read(log).strip().splitlines()[-4:]
    new_in, new_out = ups[-1]
    installed = "".join(b for b in sas.split("  net: #")[1:] if "INSTALLED" in b.split("\n")[0])
    if not re.search(r"in\s+%s" % new_out, installed) or not re.search(r"out\s+%s" % new_in, installed):
        return "charon does not list the rekeyed child SA %s/%s as INSTALLED" % (new_in, new_out)
    if rc != 0:
        return "client exit %s after the gateway's rekey" % rc
    return None


def ping_test(env, name, extra=(), count=3, during=None, auth=None):
    """ICMP echo from the client's inner address to the server, through the client's TUN and ESP;
    `during` runs while the pings are under way."""
    tun = "tvikt%d" % PID
    p, log = env.client_bg(name, "--tun", tun, "--up-for", "30", "--deadline", "40", *extra, auth=auth)
    up = wait_for(log, r"CHILD_SA_UP spi_in=\S+ spi_out=\S+ inner=([\d.]+)", p, 15)
    if not up:
        finish(p)
        return "no SA came up: %s" % read(log).strip().splitlines()[-3:]
    inner = up.group(1)
    try:
        nl.sh("ip", "-n", NS_C, "addr", "add", inner + "/32", "dev", tun)
        nl.sh("ip", "-n", NS_C, "link", "set", tun, "up")
        nl.sh("ip", "-n", NS_C, "route", "add", "10.2.0.0/24", "dev", tun, "src", inner)
        pinger = subprocess.Popen(["ip", "netns", "exec", NS_C, "busybox", "ping", "-c", str(count), "-i", "0.25",
                                   "-W", "2", "-I", inner, SERVER_IP], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        if during:
            time.sleep(1)
            during()
        out = pinger.communicate(timeout=count * 0.25 + 15)[0]
    finally:
        p.send_signal(2)  # SIGINT: the client deletes the SA and exits
        finish(p)
    m = re.search(r"(\d+) packets received", out)
    if not m or int(m.group(1)) < count:
        return "ICMP echo through the tunnel to %s: %s" % (SERVER_IP, out.strip().splitlines()[-2:])
    return None


def t_ping_through_tunnel(env):
    return ping_test(env, "ping")


def t_ping_across_rekeys(env):
    """No echo lost while the client rekeys the child SA every second and the IKE SA once, and
    charon rekeys the child SA once."""
    why = ping_test(env, "ping_rekeys", ("--child-rekey", "1000", "--ike-rekey", "1700"), count=16,
                    during=lambda: env.swanctl("--rekey", "--child", "net"))
    log = read(os.path.join(LOGS, "ping_rekeys.log"))
    if why is None and (log.count("child SA rekeyed") < 2 or "the gateway rekeyed the child SA" not in log
                        or "IKE SA rekeyed" not in log):
        why = "the rekeys did not happen during the pings"
    return why


def t_wrong_psk(env):
    p, log = env.client_bg("wrong_psk", "--deadline", "10", psk="wrong-psk")
    rc = finish(p)
    text = read(log)
    if rc != 2 or not re.search(r"AUTHENTICATION_FAILED", text):
        return "expected a clear AUTHENTICATION_FAILED and exit 2, got exit %s: %s" % (rc, text.strip()[-300:])
    if "CHILD_SA_UP" in text:
        return "a child SA came up with the wrong PSK"
    time.sleep(0.3)
    if "ESTABLISHED" in env.swanctl("--list-sas"):
        return "charon lists an established SA after a wrong PSK"
    return None


def set_mtu(mtu):
    nl.sh("ip", "-n", NS_C, "link", "set", "tvikc%d" % PID, "mtu", str(mtu))
    nl.sh("ip", "-n", NS_G, "link", "set", "tvikg%d" % PID, "mtu", str(mtu))


def with_certs(kind, fn):
    """Runs fn with charon on certificates of `kind`; back to the PSK afterwards."""
    def run(env):
        env.make_pki()
        env.load(kind=kind)
        try:
            return fn(env)
        finally:
            env.load()
    return run


def t_cert_ecdsa_ping(env):
    why = ping_test(env, "cert_ecdsa", count=16, auth=env.cert_args("ecdsa"))
    text = read(os.path.join(LOGS, "cert_ecdsa.log"))
    if why is None and "chains to the pinned CA" not in text:
        why = "came up without the certificate check's line"
    return why


def t_cert_rsa_fragments(env):
    """RSA certificates over a 1280-byte MTU: IKE_AUTH (about 1.5 kB each way) gets through only as
    fragments. First with fragmentation effectively off (fragments only above 9000 bytes): the
    unfragmented IKE_AUTH never leaves (IP_PMTUDISC_DO), so no SA; then as configured: 16 echoes
    with the client signing PKCS#1 v1.5 and 3 signing RSASSA-PSS (--rsa-pss), each as charon
    names it (RSA_EMSA_PKCS1_SHA2_256, RSA_EMSA_PSS_SHA2_256_SALT_32)."""
    set_mtu(1280)
    try:
        p, log = env.client_bg("cert_rsa_nofrag", "--fragment-mtu", "9000", "--deadline", "5",
                               auth=env.cert_args("rsa"))
        rc = finish(p)
        if rc == 0 or "IKE_SA_UP" in read(log):
            return "the RSA IKE_AUTH got through a 1280-byte path without fragments: the test proves nothing"
        for name, extra, count, scheme in (("cert_rsa", (), 16, "RSA_EMSA_PKCS1_SHA2_256"),
                                           ("cert_rsa_pss", ("--rsa-pss",), 3, "RSA_EMSA_PSS_SHA2_256_SALT_32")):
            mark = len(read(env.path("charon.log")))
            why = ping_test(env, name, extra=extra, count=count, auth=env.cert_args("rsa"))
            text = read(os.path.join(LOGS, name + ".log"))
            if why is None and not re.search(r"message 1 \(exchange 35, \d+ bytes\) sent as [0-9]+ fragments", text):
                why = "came up, but our IKE_AUTH was not sent as fragments"
            m = None
            end = time.monotonic() + 10  # charon writes its log line by line (flush_line)
            while why is None and m is None and time.monotonic() < end:
                m = re.search(r"authentication of '%s' with (\S+) successful" % re.escape(CLIENT_ID),
                              read(env.path("charon.log"))[mark:])
                time.sleep(0 if m else 0.5)
            if why is None and (not m or m.group(1) != scheme):
                why = "%s: charon took our RSA AUTH as %s, not %s" % (name, m.group(1) if m else None, scheme)
            if why:
                return why
        return why
    finally:
        set_mtu(1500)


def t_cert_wrong_ca(env):
    p, log = env.client_bg("cert_wrong_ca", "--deadline", "10", auth=env.cert_args("ecdsa", ca="ca-other"))
    rc = finish(p)
    text = read(log)
    if rc != 2 or "not issued by the pinned CA" not in text or "CHILD_SA_UP" in text:
        return "expected the pinned-CA refusal and exit 2, got exit %s: %s" % (rc, text.strip()[-300:])
    return None


def t_cert_wrong_identity(env):
    # A DN is not sent as IDr, so charon answers as itself: a certificate for gw.thinvisor.test.
    p, log = env.client_bg("cert_wrong_identity", "--deadline", "10", auth=env.cert_args("ecdsa"),
                           remote_id="dn:C=CH, O=thinvisor test, CN=not-the-gateway.test")
    rc = finish(p)
    text = read(log)
    if rc != 2 or "does not name C=CH, O=thinvisor test, CN=not-the-gateway.test" not in text:
        return "expected the wrong-identity refusal and exit 2, got exit %s: %s" % (rc, text.strip()[-300:])
    return None


def t_gateway_rekeys_ike(env):
    """charon rekeys the IKE SA every 2 s (ours: never) while 16 echoes go through; the new SA has
    charon as its original initiator, and our Delete at the end must be answered under it."""
    env.load(ike_rekey=2)
    try:
        why = ping_test(env, "gateway_rekeys_ike", count=16)
    finally:
        env.load()
    log = read(os.path.join(LOGS, "gateway_rekeys_ike.log"))
    if why is None and ("the gateway rekeys the IKE SA" not in log or "IKE SA rekeyed" not in log):
        why = "charon did not rekey the IKE SA during the echoes"
    if why is None and "replaced IKE SA" not in log:
        why = "the replaced IKE SA's Delete was not answered"
    if why is None and "IKE SA deleted" not in log:
        why = "our Delete under the SA charon made went unanswered"
    return why


def t_rekey_collision(env):
    """Both sides rekey the IKE SA every 2 s. The client sees charon's IKE messages 300 ms late
    (--rx-delay-ms) and rekeys 1.85 s after it saw the SA come up, so its request leaves while
    charon's is on its way: they cross. Charon's is answered TEMPORARY_FAILURE, ours completes,
    and 16 of 16 echoes are answered."""
    env.load(ike_rekey=2)
    try:
        why = ping_test(env, "rekey_collision", ("--ike-rekey", "1850", "--rx-delay-ms", "300"), count=16)
    finally:
        env.load()
    log = read(os.path.join(LOGS, "rekey_collision.log"))
    if why is None and "IKE SA rekeyed" not in log:
        why = "nothing was rekeyed during the echoes"
    if why is None and "refused the gateway's IKE SA rekey (notify 43)" not in log:
        why = "no collision: the rekeys did not cross (timing); see the log"
    return why


TESTS = [
    ("gateway_absent_then_up", t_gateway_absent),  # first: it starts charon
    ("sa_up_listed_by_charon", t_sa_up),
    ("dh_group_31", t_group(31)),
    ("dh_group_19", t_group(19)),
    ("dh_group_14", t_group(14)),
    ("invalid_ke_retry", t_invalid_ke),
    ("no_proposal_chosen", t_no_proposal),
    ("wrong_psk_refused", t_wrong_psk),
    ("child_sa_rekey", t_child_rekey),
    ("ike_sa_rekey", t_ike_rekey),
    ("gateway_rekeys_child", t_gateway_rekeys_child),
    ("ping_through_tunnel", t_ping_through_tunnel),
    ("ping_across_rekeys", t_ping_across_rekeys),
    ("gateway_rekeys_ike_sa", t_gateway_rekeys_ike),
    ("rekey_collision_no_loss", t_rekey_collision),
    ("cert_ecdsa_ping", with_certs("ecdsa", t_cert_ecdsa_ping)),
    ("cert_rsa_fragments_1280", with_certs("rsa", t_cert_rsa_fragments)),
    ("cert_wrong_ca_refused", with_certs("ecdsa", t_cert_wrong_ca)),
    ("cert_wrong_identity_refused", with_certs("ecdsa", t_cert_wrong_identity)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    if args.list:
        for name, _ in TESTS:
            print(name)
        return 0
    pats = [x for x in args.only.split(",") if x]
    chosen = [(n, f) for n, f in TESTS if not pats or any(fnmatch.fnmatch(n, p) or p in n for p in pats)]
    if not os.access(CLIENT, os.X_OK):
        for n, _ in chosen:
            print("FAIL %s: %s not built (make ike-tools)" % (n, CLIENT))
        return 1
    if not os.path.exists(CHARON):
        for n, _ in chosen:
            print("SKIP %s: strongSwan's charon is not installed" % n)
        return 0
    env = Env()
    failed = 0
    try:
        env.setup()
        for name, fn in chosen:
            if env.charon is None and fn is not t_gateway_absent:
                env.start_charon()
            t0 = time.time()
            try:
                why = fn(env)
            except Exception as e:  # noqa: BLE001  (a broken step fails this test, not the suite)
                why = "%s: %s" % (type(e).__name__, e)
            if why and why.startswith("SKIP: "):
                print("SKIP %s: %s" % (name, why[len("SKIP: "):]))
            elif why:
                failed += 1
                print("FAIL %s: %s" % (name, why))
            else:
                print("PASS %s (%.1f s)" % (name, time.time() - t0))
            sys.stdout.flush()
    finally:
        env.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
