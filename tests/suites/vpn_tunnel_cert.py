#!/usr/bin/env python3
"""The VPN tunnel in the monitor with certificate authentication (`[vpn] auth = cert`), against
strongSwan's charon (kernel-libipsec), with a CA made in the test by strongSwan's pki
(tests/suites/_ike_pki.py). The PSK run, the data path and the leak checks are
tests/suites/vpn_tunnel.py's; this one boot proves the monitor's side of the certificates.
charon listens for IKE and ESP in UDP on port 4501 (`port_nat_t`), which `[vpn] gateway =
IP:4501` names: every check below also proves the gateway port (IKE_SA_INIT to 4501 behind the
non-ESP marker, no float from 500, ESP to 4501; the PSK suite covers the usual 500/4500).

- cert_wrong_ca_refused: charon presents a gateway certificate issued by another CA: the monitor
  refuses it with the pinned-CA line, the guest's pings are not answered, and `thinvisor-ctl vpn`
  names the refusal as its last error (still, after the monitor's next tries);
- cert_comes_up: charon restarts with its certificate from the pinned CA, an RSA one, while the
  monitor signs with its ECDSA P-256 key: both signature kinds run in the monitor in one boot
  (tests/suites/vpn_ike.py runs each kind both ways with the same sources on the host);
- cert_ping_server: the guest pings the server behind the gateway through the tunnel;
- cert_classic_methods: charon restarts with RFC 7427 off (`signature_authentication = no`):
  it signs with AUTH method 1 (RSA over SHA-1) and announces no SIGNATURE_HASH_ALGORITHMS, so
  the monitor verifies method 1 and signs with method 9 (ECDSA P-256, r | s); the tunnel comes
  back and the guest's pings are answered (the same boot, reconnected);
- cert_key_not_leaked: neither our private key's PEM body nor its DER bytes are in the monitor
  log or in what `thinvisor-ctl vpn` prints;
- cert_key_freed_at_power_off: at the guest's power-off (its ACPI S5 write) the monitor deletes
  the IKE SA (charon logs "received DELETE for IKE_SA") and frees our signing key (its
  power-off line says so);
- cert_nothing_in_clear: a capture of the outer link for both boots holds only IKE, ESP in
  UDP, ARP and the gateway's ICMP, and none of the marked pings the guest sent while the
  gateway's certificate was refused (issue 14: "a wrong CA ... nothing leaks in clear").

A second, short boot signs with an RSA client key (3072 bits, so its IKE_AUTH goes out as
fragments) instead of the ECDSA one, with `rsa_signature = pss`; it needs no guest shell, since
the monitor brings the tunnel up while the guest still boots, and is killed once its checks are
done:
- rsa_client_pss: RSASSA-PSS both ways in AUTH method 14 (RFC 7427, SHA-256, MGF1-SHA-256, salt
  32): charon has an RSA gateway certificate and signs PSS (`rsa_pss = yes`), and takes only a
  PSS signature from us (`remote.auth = ike:rsa/pss-sha256`): the tunnel comes up, charon logs
  our authentication with RSA_EMSA_PSS_SHA2_256_SALT_32, and the monitor logs the gateway's PSS signature
  verified;
- rsa_client_method1: charon restarts with RFC 7427 off: the monitor signs with AUTH method 1
  (RSA over SHA-1) and charon takes it ("with RSA signature"), the tunnel up again;
- rsa_key_not_leaked: no piece of the RSA key's PEM or DER in the second boot's monitor log.

Prints `PASS name ...` / `FAIL name: why`; exits 1 on any failure. Needs root; every namespace,
tap and daemon it creates is removed on exit (vpn_tunnel.Env)."""
import base64
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _ike_pki  # noqa: E402
import _netlib as nl  # noqa: E402
import vpn_tunnel as vt  # noqa: E402

LOGS = os.path.join(nl.ROOT, "build", "test-results", "vpn_tunnel_cert")
CHECKS = ["cert_wrong_ca_refused", "cert_comes_up", "cert_ping_server", "cert_classic_methods", "cert_key_not_leaked",
          "cert_key_freed_at_power_off", "rsa_client_pss", "rsa_client_method1", "rsa_key_not_leaked",
          "cert_nothing_in_clear"]
ECDSA_CHECKS = CHECKS[:6]
RSA_CHECKS = CHECKS[6:9]

GW_PORT = 4501
CONF = ("[network]\ndhcp = no\nmac = %s\naddress = %s\nnetmask = 255.255.255.0\ngateway = %s\n"
        "[vpn]\ngateway = %s:%d\nlocal_id = %s\nremote_id = %s\nauth = cert\nca = ca.pem\ncert = client.pem\n"
        "key = client.key\ninner_address = %s/24\ndns = %s\n"
        % (vt.MON_MAC, vt.MON_IP, vt.GW_IP, vt.GW_IP, GW_PORT, vt.CLIENT_ID, vt.GW_ID, vt.INNER, vt.DNS))

CERT_AUTH = """    local {
      auth = pubkey
      certs = %(certs)s
      id = %(gw_id)s
    }
    remote {
      auth = %(remote_auth)s
      id = %(client_id)s
      cacerts = %(ca)s
    }"""


def swanctl_conf(env, gw_cert, gw_key_kind, remote_auth="pubkey"):
    """vpn_tunnel's connection with certificates instead of the PSK (no secrets section: the
    gateway's key is in the ecdsa/ or rsa/ folder beside swanctl.conf)."""
    text = vt.SWANCTL_CONF % {"gw": vt.GW_IP, "gw_id": vt.GW_ID, "client_id": vt.CLIENT_ID, "psk": "unused",
                              "inner": vt.INNER, "dns": vt.DNS}
    psk_auth = text[text.index("    local {"):text.index("    children {")]
    cert_auth = CERT_AUTH % {"certs": env.path(gw_cert), "gw_id": vt.GW_ID, "client_id": vt.CLIENT_ID,
                             "ca": env.path("ca.pem"), "remote_auth": remote_auth} + "\n"
    text = text.replace(psk_auth, cert_auth)
    text = text[:text.index("secrets {")]
    for kind in ("ecdsa", "rsa"):
        d = env.path(kind)
        if os.path.isdir(d):
            for f in os.listdir(d):
                os.unlink(os.path.join(d, f))
    os.makedirs(env.path(gw_key_kind), exist_ok=True)
    shutil.copy(env.path("gw-%s.key" % gw_key_kind), env.path(os.path.join(gw_key_kind, "gw.key")))
    return text


def start_charon_cert(env, gw_cert, gw_key_kind, remote_auth="pubkey"):
    """vt.Env.start_charon, loading the certificate connection (remote_auth: what charon takes
    from the monitor)."""
    env.start_charon("unused")
    with open(env.path("swanctl.conf"), "w") as f:
        f.write(swanctl_conf(env, gw_cert, gw_key_kind, remote_auth))
    env.swanctl("--load-all", "--clear", "--file", env.path("swanctl.conf"))


def other_ca_gateway(env):
    """A gateway certificate for the right identity, on the gateway's ECDSA key, issued by the CA
    the monitor does not pin."""
    out = env.path("gw-other.pem")
    if os.path.exists(out):
        return
    with open(out, "wb") as f:
        r = subprocess.run(["timeout", "60", "pki", "--issue", "--cacert", env.path("ca-other.pem"), "--cakey",
                            env.path("ca-other.key"), "--type", "pub", "--in", env.path("gw-ecdsa.pub"),
                            "--lifetime", "30", "--dn", "C=CH, O=thinvisor test, CN=%s" % vt.GW_ID,
                            "--san", vt.GW_ID, "--outform", "pem"], stdout=f, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("pki --issue (other CA): %s" % r.stderr.decode(errors="replace")[-300:])


def key_needles(pem_path):
    """Pieces of our private key that must never show: base64 lines of the PEM and 16-byte runs
    of its DER, in hex."""
    with open(pem_path) as f:
        lines = [ln.strip() for ln in f if ln.strip() and not ln.startswith("-----")]
    der = base64.b64decode("".join(lines))
    return [ln for ln in lines if len(ln) >= 32], [der[i:i + 16].hex() for i in range(0, len(der) - 16, 16)]


def charon_setting(env, line):
    """Adds `line` to the charon section of strongswan.conf (read when charon next starts)."""
    with open(env.path("strongswan.conf")) as f:
        conf = f.read()
    with open(env.path("strongswan.conf"), "w") as f:
        f.write(conf.replace("charon {\n", "charon {\n  %s\n" % line, 1))


def classic_methods(env, g):
    """charon without RFC 7427 (gateway RSA, method 1; the monitor ECDSA, method 9): (problem, note)."""
    env.swanctl("--terminate", "--ike", "tv", "--force")  # the monitor sees the Delete and starts over
    env.stop_charon()
    charon_setting(env, "signature_authentication = no")
    mark = len(g.monitor_log())
    start_charon_cert(env, "gw-rsa.pem", "rsa")
    m = vt.wait_log(g, r"vpn: tunnel up with gateway", 90, mark)
    log = g.monitor_log()[mark:]
    problems = [] if m else ["no tunnel within 90 s of charon's restart without RFC 7427"]
    for want in ("the gateway signs with AUTH method 1", "signing with AUTH method 9"):
        if want not in log:
            problems.append("no '%s' in the monitor log" % want)
    got = 0
    if m:
        got, out = vt.pings(g, 3)
        if got != 3:
            problems.append("%d of 3 echoes" % got)
    return "; ".join(problems) or None, "gateway method 1, monitor method 9, %d/3 echoes" % got


def modules(env, work, kind):
    """The CA, our certificate and our key of `kind` (ecdsa, rsa) as the boot modules [vpn] names."""
    os.makedirs(work, exist_ok=True)
    mods = []
    for src, name in (("ca.pem", "ca.pem"), ("client-%s.pem" % kind, "client.pem"), ("client-%s.key" % kind, "client.key")):
        shutil.copy(env.path(src), os.path.join(work, name))
        mods.append(os.path.join(work, name))
    return mods


def key_leaks(key_path, text):
    """How many pieces of the private key at key_path are in text (PEM lines, DER runs in hex)."""
    lines, runs = key_needles(key_path)
    flat = text.replace(" ", "").lower()
    return len([ln for ln in lines if ln in text] + [r for r in runs if r in flat]), len(lines), len(runs)


def run(env, work, results):
    mods = modules(env, work, "ecdsa")
    g = vt.start_guest(env.net, work, conf_text=CONF, machine="pc", guest_mac=vt.GUEST_MAC, timeout=1200,
                       modules=tuple(mods))
    try:
        if not g.wait_shell(400):
            raise RuntimeError("the guest did not reach its shell (console tail %r)" % g.console[-300:])
        g.run("cat > /tmp/dhcp.sh <<'EOF'\n%sEOF\nchmod +x /tmp/dhcp.sh" % vt.DHCP_SCRIPT, 30)
        out, rc = g.run("ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 -O mtu -s /tmp/dhcp.sh 2>&1", 120)
        if "TVLEASE ip=%s" % vt.INNER not in out:
            raise RuntimeError("DHCP from the monitor: %r" % out[-300:])

        charon_setting(env, "port_nat_t = %d" % GW_PORT)
        mark = len(g.monitor_log())
        start_charon_cert(env, "gw-other.pem", "ecdsa")
        m = vt.wait_log(g, r"vpn: ike: [^\n]*not issued by the pinned CA[^\n]*", 60, mark)
        got, _ = vt.pings(g, 2, "-p %02x -s 200" % vt.PATTERN)  # the marker cert_nothing_in_clear looks for
        problems = [] if m else ["no pinned-CA refusal in the monitor log"]
        if got != 0:
            problems.append("%d pings answered with the gateway's certificate from another CA" % got)
        # The refusal stays the last error while the monitor retries (IKE restarts every 2 s).
        d, _, _ = vt.ctl_vpn(g)
        if d.get("last-error") != "gateway-certificate-not-from-pinned-CA":
            problems.append("thinvisor-ctl vpn shows last-error %s, not the pinned-CA refusal" % d.get("last-error"))
        results["cert_wrong_ca_refused"] = ("; ".join(problems) or None, m.group(0)[:120] if m else "")
        env.stop_charon()

        mark = len(g.monitor_log())
        t0 = time.monotonic()
        start_charon_cert(env, "gw-rsa.pem", "rsa")
        m = vt.wait_log(g, r"vpn: tunnel up with gateway [\d.]+: child SA in ([0-9a-f]{8}) out ([0-9a-f]{8})", 90, mark)
        chain = re.search(r"chains to the pinned CA", g.monitor_log()[mark:])
        port = re.search(r"IKE_SA_INIT to [\d.]+:%d, SPI" % GW_PORT, g.monitor_log()[mark:])
        sas = env.swanctl("--list-sas")
        problems = []
        if not m:
            problems.append("no tunnel within 90 s of charon's start")
        if not chain:
            problems.append("no certificate check line in the monitor log")
        if "[%d]" % GW_PORT not in sas:
            problems.append("charon's IKE SA is not on port %d: %r" % (GW_PORT, sas[:300]))
        if not port:
            problems.append("no IKE_SA_INIT to the gateway's port %d in the monitor log" % GW_PORT)
        if "ESTABLISHED" not in sas:
            problems.append("charon lists no established IKE SA")
        results["cert_comes_up"] = ("; ".join(problems) or None,
"up %.1f s after charon started (gateway RSA, monitor ECDSA, on port %d)"
                                    % (time.monotonic() - t0, GW_PORT))
        if m:
            got, out = vt.pings(g, 5)
            results["cert_ping_server"] = (None if got == 5 else "%d of 5 echoes: %r" % (got, out[-200:]), "5/5 echoes")
        if m:
            results["cert_classic_methods"] = classic_methods(env, g)
        _, ctl, _ = vt.ctl_vpn(g)
        cmark = len(env.charon_log())
        log = g.power_off(120)
        g.save_console()
    finally:
        g.kill()
    charon = ""
    end = time.monotonic() + 10  # charon writes its log line by line
    while "received DELETE for IKE_SA" not in charon and time.monotonic() < end:
        charon = env.charon_log()[cmark:]
        time.sleep(0.5)
    leaked, lines, runs = key_leaks(os.path.join(work, "client.key"), log + ctl)
    results["cert_key_not_leaked"] = ("%d pieces of our private key in the log or thinvisor-ctl" % leaked
                                      if leaked else None, "%d PEM lines and %d DER runs looked for" % (lines, runs))
    off = re.search(r"vpn: power-off: [^\n]*", log)
    deleted = "received DELETE for IKE_SA" in charon
    results["cert_key_freed_at_power_off"] = (
        None if off and "and our signing key wiped" in off.group(0) and deleted else
        "the monitor's power-off line: %r; charon %s the Delete" % (off.group(0) if off else None,
                                                                   "logged" if deleted else "did not log"),
        (off.group(0)[16:] if off else "") + "; charon received the Delete")


def charon_fresh_conf(env):
    """strongswan.conf as vpn_tunnel writes it, with the gateway's port (RFC 7427 on again)."""
    with open(env.path("strongswan.conf"), "w") as f:
        f.write(vt.STRONGSWAN_CONF % {"dir": env.net.tmp})
    charon_setting(env, "port_nat_t = %d" % GW_PORT)


def wait_monitor(g, pattern, seconds, start):
    """vt.wait_log while the guest's console is read (a guest blocked on a full COM1 socket
    would stop the exits that run the monitor's clock)."""
    rx = re.compile(pattern)
    end = time.monotonic() + seconds
    while True:
        m = rx.search(g.monitor_log(), start)
        if m or time.monotonic() > end or g.proc.poll() is not None:
            return m
        g.read_until(b"\x00never\x00", 0.5)


def our_auth_in_charon(env, mark):
    """The signature scheme charon names for our AUTH, in its log from offset mark."""
    m = re.search(r"authentication of '%s' with (.+?) successful" % re.escape(vt.CLIENT_ID), env.charon_log()[mark:])
    return m.group(1) if m else None


def rsa_method1(env, g):
    """charon restarted without RFC 7427: the monitor signs with method 1; (problem, note)."""
    env.swanctl("--terminate", "--ike", "tv", "--force")  # the monitor sees the Delete and starts over
    env.stop_charon()
    charon_setting(env, "signature_authentication = no")
    mark, cmark = len(g.monitor_log()), len(env.charon_log())
    start_charon_cert(env, "gw-ecdsa.pem", "ecdsa")
    m = wait_monitor(g, r"vpn: tunnel up with gateway", 120, mark)
    log = g.monitor_log()[mark:]
    problems = [] if m else ["no tunnel within 120 s of charon's restart without RFC 7427"]
    if "signing with AUTH method 1" not in log:
        problems.append("no 'signing with AUTH method 1' in the monitor log")
    scheme = our_auth_in_charon(env, cmark)
    if scheme != "RSA signature":  # charon names AUTH method 1 so (RFC 7427's schemes by their names)
        problems.append("charon authenticated us with %s, not 'RSA signature' (AUTH method 1)" % scheme)
    return "; ".join(problems) or None, "monitor method 1, charon: %s" % scheme


def run_rsa(env, work, results):
    """The second boot: the monitor's RSA key signing RSASSA-PSS against an RSA gateway signing
    PSS too, RFC 7427 on; then RFC 7427 off (an ECDSA gateway, method 1 from us)."""
    mods = modules(env, work, "rsa")
    env.stop_charon()
    charon_fresh_conf(env)
    charon_setting(env, "rsa_pss = yes")  # charon signs its RSA AUTH with PSS
    cmark = len(env.charon_log())
    # Up before the boot (IKE starts with the monitor); our AUTH must be PSS with SHA-256.
    start_charon_cert(env, "gw-rsa.pem", "rsa", remote_auth="ike:rsa/pss-sha256")
    g = vt.start_guest(env.net, work, conf_text=CONF + "rsa_signature = pss\n", machine="pc",
                       guest_mac=vt.GUEST_MAC, timeout=900, modules=tuple(mods))
    log = ""
    try:
        t0 = time.monotonic()
        # charon's refusal ends the wait at once (the monitor would retry it for ever).
        m = wait_monitor(g, r"vpn: tunnel up with gateway [\d.]+: child SA in ([0-9a-f]{8}) out ([0-9a-f]{8})|"
                         r"vpn: ike: IKE_AUTH: gateway refused our authentication[^\n]*", 400, 0)
        log = g.monitor_log()
        scheme = our_auth_in_charon(env, cmark)
        problems = []
        if not m or "refused" in m.group(0):
            problems.append(m.group(0) if m else "no tunnel within 400 s of the boot")
            m = None
        if "signing with AUTH method" in log:
            problems.append("the monitor fell back to a classic AUTH method")
        if scheme != "RSA_EMSA_PSS_SHA2_256_SALT_32":  # charon's name for exactly our parameters
            problems.append("charon authenticated us with %s, not RSA_EMSA_PSS_SHA2_256_SALT_32" % scheme)
        theirs = re.search(r"the gateway signs with AUTH method 14, ([^\n]*)", log)
        if not theirs or not theirs.group(1).startswith("RSASSA-PSS"):
            problems.append("the monitor did not take a PSS signature from charon (%r)"
                            % (theirs.group(0) if theirs else None))
        elif "its signature verifies" not in log[theirs.end():]:
            problems.append("no 'its signature verifies' after the gateway's PSS AUTH")
        if not re.search(r"sent as \d+ fragments", log):
            problems.append("the RSA-3072 IKE_AUTH was not sent as fragments")
        if "ESTABLISHED" not in env.swanctl("--list-sas"):
            problems.append("charon lists no established IKE SA")
        results["rsa_client_pss"] = ("; ".join(problems) or None,
                                     "up %.0f s after the boot, charon took our %s and the monitor its %s"
                                     % (time.monotonic() - t0, scheme, theirs.group(1) if theirs else None))
        if m:
            results["rsa_client_method1"] = rsa_method1(env, g)
        log = g.monitor_log()
    finally:
        log = g.kill() or log
    leaked, lines, runs = key_leaks(os.path.join(work, "client.key"), log)
    results["rsa_key_not_leaked"] = ("%d pieces of our RSA private key in the monitor log" % leaked if leaked else None,
                                     "%d PEM lines and %d DER runs looked for" % (lines, runs))


def capture(env, results):
    time.sleep(1)
    env.stop_dump()
    frames = vt.read_pcap(env.pcap)
    bad = vt.capture_problems(frames)
    results["cert_nothing_in_clear"] = (
        "the capture is empty" if not frames else
        "%d frames not allowed on the outer link: %s" % (len(bad), "; ".join(bad[:3])) if bad else None,
        "%d frames captured, none in clear (the wrong CA's pings carried the marker)" % len(frames))


def main():
    if "--list" in sys.argv:
        print("\n".join(CHECKS))
        return 0
    if os.geteuid() != 0:
        print("FAIL vpn-tunnel-cert: needs root")
        return 1
    if not os.path.exists(vt.CHARON) or not shutil.which("pki"):
        for c in CHECKS:
            print("SKIP %s: strongSwan's charon or pki is not installed" % c)
        return 0
    # --only rsa|ecdsa: one of the two boots, for development (the capture is checked either way).
    only = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else ""
    checks = [c for c in CHECKS if not (only == "rsa" and c in ECDSA_CHECKS or only == "ecdsa" and c in RSA_CHECKS)]
    shutil.rmtree(LOGS, ignore_errors=True)
    os.makedirs(LOGS)
    env = vt.Env()
    results, crash = {}, None
    try:
        env.setup(LOGS)
        _ike_pki.make(env.path, "%d" % vt.PID, vt.GW_ID, vt.CLIENT_ID)
        other_ca_gateway(env)
        for kind, fn in (("ecdsa", run), ("rsa", run_rsa)):
            if only in ("", kind):
                try:
                    fn(env, LOGS if kind == "ecdsa" else os.path.join(LOGS, "rsa"), results)
                except Exception as e:  # noqa: BLE001 -- the other boot still runs
                    crash = "%s: %s" % (type(e).__name__, e)
        capture(env, results)
    except Exception as e:  # noqa: BLE001 -- every check not reached fails with the reason
        crash = "%s: %s" % (type(e).__name__, e)
    finally:
        env.cleanup()
    failed = 0
    for c in checks:
        if c not in results:
            failed += 1
            print("FAIL %s: not reached (%s) (logs in %s)" % (c, crash or "an earlier check failed", LOGS))
            continue
        problem, note = results[c]
        if problem:
            failed += 1
            print("FAIL %s: %s (logs in %s)" % (c, problem, LOGS))
        else:
            print("PASS %s %s" % (c, note))
    if not failed and os.path.exists(getattr(env, "pcap", "")):
        os.unlink(env.pcap)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
