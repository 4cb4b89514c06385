"""Test PKI for the smart-card suites: an NSS database as QEMU's ccid-card-emulated reads it
(a CA and three RSA-2048 certificates with their keys, password = the card's PIN), and a
softhsm2 token holding one key and certificate. Used by card_enroll.py and card_boot.py.

Needs certutil (libnss3-tools), softhsm2-util (softhsm2), pkcs11-tool (opensc) and openssl.
"""
import os
import shutil
import subprocess

NSS_SOFTOKN = "/usr/lib/x86_64-linux-gnu/libsoftokn3.so"
SOFTHSM = "/usr/lib/softhsm/libsofthsm2.so"
CARD_NAMES = ("user1", "user2", "user3")  # QEMU's cert1..cert3: the CAC's PKI applets 0..2


def missing_tools():
    need = {"certutil": "libnss3-tools", "softhsm2-util": "softhsm2", "pkcs11-tool": "opensc",
            "openssl": "openssl"}
    gone = ["%s (%s)" % (t, p) for t, p in need.items() if shutil.which(t) is None]
    gone += [p for p in (NSS_SOFTOKN, SOFTHSM) if not os.path.exists(p)]
    return gone


def run(args, cwd=None, env=None, inp=None):
    r = subprocess.run(args, cwd=cwd, env=env, input=inp, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), r.returncode, r.stderr.decode(errors="replace")))
    return r.stdout


class NssCard:
    """DIR holds cert9.db/key4.db: a CA 'ca' and certificates user1..3 (serials 101..103)."""

    def __init__(self, path, pin="123456", cn_prefix="card user", serial_base=100):
        self.dir = path
        self.pin = pin
        os.makedirs(path, exist_ok=True)
        self.pin_file = os.path.join(path, "pin")
        with open(self.pin_file, "w") as f:
            f.write(pin + "\n")
        noise = os.path.join(path, "noise")
        with open(noise, "wb") as f:
            f.write(os.urandom(64))
        db = "sql:" + path
        run(["certutil", "-N", "-d", db, "-f", self.pin_file])
        run(["certutil", "-S", "-s", "CN=%s CA" % cn_prefix, "-n", "ca", "-x", "-t", "CT,C,C", "-k", "rsa",
             "-g", "2048", "-m", str(serial_base), "-d", db, "-f", self.pin_file, "-z", noise])
        for i, name in enumerate(CARD_NAMES, 1):
            run(["certutil", "-S", "-s", "CN=%s %d,O=thinvisor" % (cn_prefix, i), "-n", name, "-c", "ca",
                 "-t", ",,", "-k", "rsa", "-g", "2048", "-m", str(serial_base + i), "-d", db,
                 "-f", self.pin_file, "-z", noise])

    def pkcs11_args(self):
        """thinvisor-enroll's options for reading this database through NSS's own module."""
        init = "configdir='sql:%s' certPrefix='' keyPrefix='' secmod='secmod.db' flags='readOnly'" % self.dir
        return ["--pkcs11-module", NSS_SOFTOKN, "--pkcs11-init", init]

    def cert_pem(self, name, out):
        with open(out, "wb") as f:
            f.write(run(["certutil", "-L", "-d", "sql:" + self.dir, "-n", name, "-a"]))
        return out


class SoftHsmCard:
    """A softhsm2 token 'card' (user PIN 1234) with one RSA-2048 key and its certificate."""

    def __init__(self, path, pin="1234"):
        self.dir = path
        self.pin = pin
        os.makedirs(os.path.join(path, "tokens"), exist_ok=True)
        conf = os.path.join(path, "softhsm2.conf")
        with open(conf, "w") as f:
            f.write("directories.tokendir = %s\n" % os.path.join(path, "tokens"))
        self.env = dict(os.environ, SOFTHSM2_CONF=conf)
        self.pin_file = os.path.join(path, "pin")
        with open(self.pin_file, "w") as f:
            f.write(pin + "\n")
        run(["softhsm2-util", "--init-token", "--free", "--label", "card", "--pin", pin, "--so-pin", "5678"],
            env=self.env)
        key, crt = os.path.join(path, "k.pem"), os.path.join(path, "c.pem")
        run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", crt,
             "-subj", "/CN=softhsm card/O=thinvisor", "-days", "30"])
        run(["openssl", "x509", "-in", crt, "-outform", "der", "-out", crt + ".der"])
        run(["openssl", "pkey", "-in", key, "-outform", "der", "-out", key + ".der"])
        for obj, kind in ((key + ".der", "privkey"), (crt + ".der", "cert")):
            run(["pkcs11-tool", "--module", SOFTHSM, "--login", "--pin", pin, "--write-object", obj,
                 "--type", kind, "--id", "01", "--label", "card"], env=self.env)
        self.cert_der = crt + ".der"

    def pkcs11_args(self):
        return ["--pkcs11-module", SOFTHSM]
