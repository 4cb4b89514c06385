#!/usr/bin/env python3
"""End-to-end tests of tools/thinvisor-enroll (build/tools/thinvisor-enroll): card slots added,
listed and removed in keyslot files, with the card's certificate read through PKCS#11 from
softhsm2 and from the NSS database QEMU's emulated card uses (NSS's own libsoftokn3), or from a
certificate file; `check` then opens the disk with the card's raw RSA operation, as the monitor
does at boot. No emulator: a few seconds, most of them certutil making RSA keys.

Prints one line per test, `PASS name` or `FAIL name: why`; exits non-zero if any failed.
--only PATTERN runs the tests whose name contains PATTERN; --list lists them.
"""
import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _card_pki  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENROLL = os.path.join(ROOT, "build", "tools", "thinvisor-enroll")
DISK = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
ITER = ["--iterations", "1000"]

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


class Env:
    """A scratch directory with a keyslot file (passphrase 'disk pw' in slot 0) and the cards."""

    def __init__(self, path, nss, hsm):
        self.path, self.nss, self.hsm = path, nss, hsm
        self.pw = self.write("pw", b"disk pw\n")
        self.ks = self.p("ks")
        self.disk("format", self.ks, "--passphrase-file", self.pw, *ITER)

    def p(self, name):
        return os.path.join(self.path, name)

    def write(self, name, data):
        with open(self.p(name), "wb") as f:
            f.write(data)
        return self.p(name)

    def read(self, name):
        with open(self.p(name), "rb") as f:
            return f.read()

    def disk(self, *args):
        r = subprocess.run([DISK] + list(args), cwd=self.path, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0, "thinvisor-disk %s: %s" % (args[0], r.stderr.strip()))
        return r

    def run(self, *args):
        return subprocess.run([ENROLL] + [str(a) for a in args], cwd=self.path, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=60, env=self.hsm.env)

    def ok(self, *args):
        r = self.run(*args)
        check(r.returncode == 0, "%s failed (%d): %s" % (args[0], r.returncode, r.stderr.strip()))
        return r.stdout

    def refused(self, code, words, *args):
        """The command fails with exit status code and a message with words; the keyslot
        file is byte-identical afterwards."""
        before = self.read("ks")
        r = self.run(*args)
        check(r.returncode == code, "%s: exit %d, want %d (%s)" % (args[0], r.returncode, code, r.stderr.strip()))
        check(words.lower() in r.stderr.lower(), "%s: message %r lacks %r" % (args[0], r.stderr.strip(), words))
        check(self.read("ks") == before, "a refused %s changed the keyslot file" % args[0])
        check(not [f for f in os.listdir(self.path) if ".tmp." in f], "a refused %s left a temporary file" % args[0])

    def add_nss(self, name, *extra):
        return self.ok("add", "ks", *self.nss.pkcs11_args(), "--label", name, "--passphrase-file", self.pw, *extra)

    def check_nss(self, name, pin_file=None):
        return self.run("check", "ks", *self.nss.pkcs11_args(), "--label", name, "--pin-file",
                        pin_file or self.nss.pin_file)


@test
def nss_card_enrolls_lists_and_opens_with_its_pin(e):
    out = e.add_nss("user1")
    check("slot 1: card 'card user 1', serial 65" in out, "add did not report the slot: %r" % out)
    listing = e.ok("list", "ks")
    check("slot 0: passphrase" in listing and "slot 1: card 'card user 1', serial 65, RSA-2048" in listing,
          "list: %r" % listing)
    r = e.check_nss("user1")
    check(r.returncode == 0 and "opens slot 1" in r.stdout, "the enrolled card does not open: %s" % r.stderr)
    e.write("bad", b"654321\n")
    r = e.check_nss("user1", e.p("bad"))
    check(r.returncode == 3 and "pin" in r.stderr.lower(), "a wrong PIN: exit %d %r" % (r.returncode, r.stderr))
    check("opens slot 0" in e.disk("verify", "ks", "--passphrase-file", e.pw).stdout, "the passphrase was lost")


@test
def softhsm2_token_enrolls_and_opens(e):
    out = e.ok("add", "ks", *e.hsm.pkcs11_args(), "--passphrase-file", e.pw, "--slot", "6")
    check("slot 6: card 'softhsm card'" in out, "add: %r" % out)
    check("opens slot 6" in e.ok("check", "ks", *e.hsm.pkcs11_args(), "--pin-file", e.hsm.pin_file),
          "the softhsm2 card does not open its slot")


@test
def certificate_file_enrolls_the_same_card(e):
    pem = e.nss.cert_pem("user2", e.p("user2.pem"))
    e.ok("add", "ks", "--cert", pem, "--passphrase-file", e.pw)
    check(e.check_nss("user2").returncode == 0, "the card enrolled from its PEM file does not open")
    subprocess.run(["openssl", "x509", "-in", pem, "-outform", "der", "-out", e.p("user2.der")], check=True)
    e.refused(2, "already enrolled in slot 1", "add", "ks", "--cert", e.p("user2.der"), "--passphrase-file", e.pw)


@test
def several_cards_and_passphrases_coexist_and_any_one_opens(e):
    for name in _card_pki.CARD_NAMES:
        e.add_nss(name)
    e.ok("add", "ks", *e.hsm.pkcs11_args(), "--passphrase-file", e.pw)
    e.write("pw2", b"second\n")
    e.disk("add-key", "ks", "--passphrase-file", e.pw, "--new-passphrase-file", e.p("pw2"), *ITER)
    for name in _card_pki.CARD_NAMES:
        check(e.check_nss(name).returncode == 0, "%s does not open with four cards enrolled" % name)
    check("opens slot 5" in e.disk("verify", "ks", "--passphrase-file", e.p("pw2")).stdout, "pw2 not in slot 5")
    out = e.ok("remove", "ks", "--slot", "2", "--passphrase-file", e.p("pw2"))
    check("removed slot 2: card 'card user 2'" in out, "remove: %r" % out)
    r = e.check_nss("user2")
    check(r.returncode == 7 and "not enrolled" in r.stderr, "a removed card still opens: %r" % r.stderr)
    check(e.check_nss("user3").returncode == 0, "removing user2 broke user3")
    check("slot 2" not in e.ok("list", "ks"), "list still shows the removed slot")


@test
def failures_leave_the_keyslot_file_unchanged(e):
    e.add_nss("user1")
    e.write("bad", b"guess\n")
    nss = e.nss.pkcs11_args()
    e.refused(3, "wrong passphrase", "add", "ks", *nss, "--label", "user2", "--passphrase-file", e.p("bad"))
    e.refused(7, "several certificates", "add", "ks", *nss, "--passphrase-file", e.pw)
    e.refused(7, "no certificate found", "add", "ks", *nss, "--label", "nobody", "--passphrase-file", e.pw)
    e.refused(2, "already enrolled in slot 1", "add", "ks", *nss, "--label", "user1", "--passphrase-file", e.pw)
    e.refused(2, "in use", "add", "ks", *nss, "--label", "user2", "--slot", "0", "--passphrase-file", e.pw)
    e.refused(1, "needs --pkcs11-init", "add", "ks", "--pkcs11-module", _card_pki.NSS_SOFTOKN,
              "--passphrase-file", e.pw)
    e.refused(1, "cannot load", "add", "ks", "--pkcs11-module", e.p("none.so"), "--passphrase-file", e.pw)
    e.refused(7, "no token named", "add", "ks", *nss, "--token", "nope", "--passphrase-file", e.pw)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", e.p("ec.key"), "-out", e.p("ec.pem"), "-subj", "/CN=ec", "-days", "3"],
                   check=True, capture_output=True)
    e.refused(7, "not rsa", "add", "ks", "--cert", e.p("ec.pem"), "--passphrase-file", e.pw)
    e.write("junk.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    e.refused(7, "not an x.509 certificate", "add", "ks", "--cert", e.p("junk.pem"), "--passphrase-file", e.pw)
    e.refused(2, "exactly one of", "add", "ks", "--passphrase-file", e.pw)
    e.refused(3, "wrong passphrase", "remove", "ks", "--slot", "1", "--passphrase-file", e.p("bad"))
    e.refused(2, "not a card slot", "remove", "ks", "--slot", "0", "--passphrase-file", e.pw)
    e.refused(2, "not a card slot", "remove", "ks", "--slot", "3", "--passphrase-file", e.pw)
    for slot in range(2, 8):  # fill every slot, then one more card does not fit
        e.write("pw%d" % slot, b"p%d\n" % slot)
        e.disk("add-key", "ks", "--passphrase-file", e.pw, "--new-passphrase-file", e.p("pw%d" % slot), *ITER)
    e.refused(2, "no free keyslot", "add", "ks", *nss, "--label", "user2", "--passphrase-file", e.pw)


@test
def a_damaged_keyslot_file_is_refused(e):
    raw = bytearray(e.read("ks"))
    raw[700] ^= 1
    e.write("ks", bytes(raw))
    e.refused(4, "corrupt", "add", "ks", *e.nss.pkcs11_args(), "--label", "user1", "--passphrase-file", e.pw)
    e.refused(4, "corrupt", "list", "ks")


@test
def help_and_usage_follow_the_disk_tools_conventions(e):
    r = e.run("--help")
    check(r.returncode == 0 and r.stdout.startswith("usage: thinvisor-enroll COMMAND"), "--help: %r" % r.stdout)
    for word in ("add KEYSLOTS", "list KEYSLOTS", "remove KEYSLOTS", "--pkcs11-module", "--cert", "exit status"):
        check(word in r.stdout, "--help lacks %r" % word)
    e.refused(2, "unknown command", "frobnicate", "ks")
    e.refused(2, "bad option or value: --slot", "remove", "ks", "--slot", "x")
    e.refused(2, "needs --slot", "remove", "ks", "--passphrase-file", e.pw)
    r = e.run("certs", *e.nss.pkcs11_args())
    check(r.returncode == 0 and r.stdout.count("RSA-2048") == 4, "certs does not list the CA and 3 cards: %r" % r.stdout)


def selected(name, only):
    if not only:
        return True
    return any(p in name or fnmatch.fnmatch(name, p) for p in only.split(","))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", metavar="PATTERN")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    names = ["card_enroll." + t.__name__ for t in TESTS]
    if args.list:
        print("\n".join(names))
        return 0
    tests = [t for t, n in zip(TESTS, names) if selected(n, args.only)]
    gone = _card_pki.missing_tools()
    if gone:
        print("FAIL card_enroll: missing %s" % ", ".join(gone))
        return 1
    for tool, target in ((ENROLL, "enroll-tool"), (DISK, "disk-tool")):
        if not os.access(tool, os.X_OK):
            subprocess.run(["make", "-s", target], cwd=ROOT, check=False)
    top = tempfile.mkdtemp(prefix="tv-card-enroll-")
    failed = 0
    try:
        nss = _card_pki.NssCard(os.path.join(top, "nss"))
        hsm = _card_pki.SoftHsmCard(os.path.join(top, "hsm"))
        for t in tests:
            name = "card_enroll." + t.__name__
            d = tempfile.mkdtemp(dir=top)
            t0 = time.time()
            try:
                t(Env(d, nss, hsm))
                print("PASS %s [%.1fs]" % (name, time.time() - t0), flush=True)
            except Failure as ex:
                failed += 1
                print("FAIL %s: %s" % (name, ex), flush=True)
            except Exception as ex:  # a crash of the test itself is a failure too
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(ex).__name__, ex), flush=True)
    finally:
        shutil.rmtree(top, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
