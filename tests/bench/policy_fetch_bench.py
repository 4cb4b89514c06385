#!/usr/bin/env python3
"""What a fleet's policy polls cost the web server (docs/policies.md, "Fleet scale").

Debian's nginx (the same configuration as tests/suites/fileprot_push.py: TLS 1.2 possible, an
EC P-256 certificate from a test CA, the policy file as a static file) in a private network
namespace; a load generator in the same namespace makes polls the way the monitor does: a new
TCP and TLS 1.2 connection (ECDHE-ECDSA-AES128-GCM-SHA256, what mbedTLS and nginx agree on),
one GET with the ETag of the first answer as If-None-Match, the 304, close. WORKERS processes
poll as fast as they can for SECONDS. Measured: polls per second, nginx's CPU time per poll
(utime + stime from /proc, the server's own cost; the generator's is not counted) and the
bytes per poll on the namespace's loopback (both directions with their IP and TCP headers:
the handshake with the certificate, the request, the 304). From those: 10,000 clients polling every 5 minutes (33.3
polls/s) as a share of one server core and as bandwidth.

`--client HOST PORT URLPATH SECONDS CAFILE` is the generator's own entry (run inside the
namespace). Appends JSON lines to build/bench/results.jsonl."""
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "suites"))
import _netlib as nl  # noqa: E402
import fileprot_push as fp  # noqa: E402

SECONDS = 2 if bl.smoke() else 15
WORKERS = 2
FLEET, PERIOD_S = 10000, 300


def client(host, port, path, seconds, cafile):
    """Polls until the time is up; prints one JSON line: polls, 304s, other answers."""
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    etag, polls, n304, other = None, 0, 0, 0
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname=fp.HOST) as s:
                req = "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: thinvisor\r\nConnection: close\r\n" % (
                    path, fp.HOST, port)
                if etag:
                    req += "If-None-Match: %s\r\n" % etag
                s.sendall((req + "\r\n").encode())
                data = b""
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
        polls += 1
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        m = re.search(r"^ETag: (.*)$", head, re.M | re.I)
        if m and not etag:
            etag = m.group(1).strip()
        if head.startswith("HTTP/1.1 304"):
            n304 += 1
        elif not head.startswith("HTTP/1.1 200"):
            other += 1
    print(json.dumps({"polls": polls, "n304": n304, "other": other}))


def lo_bytes(net):
    out = subprocess.run(net.nsexec() + ["cat", "/proc/net/dev"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("lo:"):
            f = line.split(":", 1)[1].split()
            return int(f[0])  # loopback counts each packet as sent and as received: once
    return 0


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        f = f.read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime, stime (fields 14, 15)


def nginx_pid(net):
    out = subprocess.run(["ip", "netns", "pids", net.ns], capture_output=True, text=True).stdout
    for pid in out.split():
        try:
            with open("/proc/%s/comm" % pid) as f:
                if f.read().strip() == "nginx":
                    return int(pid)
        except OSError:
            pass
    raise RuntimeError("no nginx process in the namespace")


def main():
    if os.geteuid() != 0:
        print("policy_fetch bench: needs root (network namespace)")
        return 1
    work = os.path.join(ROOT, "build", "bench", "policy_fetch")
    subprocess.run(["rm", "-rf", work])
    os.makedirs(work)
    ca = fp.make_ca(work, "ca")
    net = nl.Net("pfb").setup()
    try:
        web = fp.Nginx(net, work)
        policy = os.path.join(work, "data.policy")
        with open(policy, "wb") as f:
            f.write(os.urandom(960))  # the size of the test's version 4 (nginx does not look inside)
        web.publish(policy, int(time.time()) - 100)
        web.start(ca)
        pid = nginx_pid(net)
        args = [sys.executable, os.path.abspath(__file__), "--client", net.host_ip, str(fp.PORT),
                "/fleet/data.policy", str(SECONDS), os.path.join(ca, "ca.pem")]
        b0, c0, t0 = lo_bytes(net), cpu_ticks(pid), time.monotonic()
        procs = [subprocess.Popen(net.nsexec() + ["timeout", str(SECONDS + 60)] + args, stdout=subprocess.PIPE,
                                  text=True) for _ in range(WORKERS)]
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        wall = time.monotonic() - t0
        cpu_s = (cpu_ticks(pid) - c0) / os.sysconf("SC_CLK_TCK")
        nbytes = lo_bytes(net) - b0
    finally:
        net.cleanup()
    polls = sum(r["polls"] for r in results)
    n304 = sum(r["n304"] for r in results)
    if polls == 0 or n304 < polls - WORKERS or any(r["other"] for r in results):
        print("policy_fetch bench: the polls were not 304s: %s" % results)
        return 1
    rate = polls / wall
    cpu_ms = 1000.0 * cpu_s / polls
    per_poll = nbytes / polls
    fleet_rate = FLEET / PERIOD_S
    extra = {"polls": polls, "seconds": round(wall, 1), "workers": WORKERS, "nginx_cpu_s": round(cpu_s, 2),
             "fleet": FLEET, "period_s": PERIOD_S}
    bl.record("policy_fetch_304_polls_per_s", round(rate, 1), "polls/s", extra=extra)
    bl.record("policy_fetch_304_server_cpu_ms_per_poll", round(cpu_ms, 3), "ms", extra=extra)
    bl.record("policy_fetch_304_bytes_per_poll", round(per_poll), "B", extra=extra)
    bl.record("policy_fetch_fleet_10k_5min_server_cpu_percent", round(100.0 * fleet_rate * cpu_ms / 1000.0, 2),
              "% of a core", extra=extra)
    bl.record("policy_fetch_fleet_10k_5min_kbit_per_s", round(fleet_rate * per_poll * 8 / 1000.0, 1), "kbit/s",
              extra=extra)
    print("policy_fetch: %d polls in %.1f s (%.0f/s), nginx %.3f ms CPU and %d bytes per poll; "
          "10,000 clients every 5 min: %.2f%% of a core, %.0f kbit/s"
          % (polls, wall, rate, cpu_ms, per_poll, 100.0 * fleet_rate * cpu_ms / 1000.0,
             fleet_rate * per_poll * 8 / 1000.0))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        client(*sys.argv[2:7])
        sys.exit(0)
    sys.exit(main())
