"""The PKI tests/suites/vpn_ike.py runs certificate authentication with, made by strongSwan's pki.

make(path, tag, gw_id, client_id): in the folder path() names, a CA ("ca") and a second one
("ca-other") that issues nothing; for each key kind (ecdsa: P-256; rsa: the gateway's 2048 bits,
the client's 3072 so that its IKE_AUTH, about 1.6 kB, does not fit a 1280-byte path), a gateway
and a client certificate naming their identity as subject CN and subjectAltName, with their
keys, all PEM; the gateway's keys also in the ecdsa/ and rsa/ folders, where swanctl --load-all
finds private keys beside swanctl.conf. Made once: nothing is done if ca.pem exists.
"""
import os
import shutil
import subprocess


def make(path, tag, gw_id, client_id):
    if os.path.exists(path("ca.pem")):
        return

    def pki(*args, out):
        with open(path(out), "wb") as f:
            r = subprocess.run(["timeout", "60", "pki"] + list(args), stdout=f, stderr=subprocess.PIPE)
        if r.returncode != 0:
            raise RuntimeError("pki %s: %s" % (args[0], r.stderr.decode(errors="replace")[-300:]))

    for ca in ("ca", "ca-other"):
        pki("--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem", out=ca + ".key")
        pki("--self", "--ca", "--lifetime", "30", "--in", path(ca + ".key"), "--type", "ecdsa",
            "--dn", "C=CH, O=thinvisor test, CN=%s %s" % (ca, tag), "--outform", "pem", out=ca + ".pem")
    for kind in ("ecdsa", "rsa"):
        for who, ident in (("gw", gw_id), ("client", client_id)):
            name = "%s-%s" % (who, kind)
            size = "256" if kind == "ecdsa" else "3072" if who == "client" else "2048"
            pki("--gen", "--type", kind, "--size", size, "--outform", "pem", out=name + ".key")
            pki("--pub", "--in", path(name + ".key"), "--type", kind, "--outform", "pem", out=name + ".pub")
            pki("--issue", "--cacert", path("ca.pem"), "--cakey", path("ca.key"), "--type", "pub",
                "--in", path(name + ".pub"), "--lifetime", "30", "--dn",
                "C=CH, O=thinvisor test, CN=%s" % ident, "--san", ident, "--outform", "pem", out=name + ".pem")
        os.makedirs(path(kind), exist_ok=True)
        shutil.copy(path("gw-%s.key" % kind), path(os.path.join(kind, "gw.key")))
