#!/usr/bin/env python3
"""End-to-end tests of tools/thinvisor-disk (build/tools/thinvisor-disk).

Prints one line per test, `PASS name` or `FAIL name: why`, and exits non-zero if any failed.
--only PATTERN runs the tests whose name contains PATTERN or matches it as a glob
(comma-separated alternatives). Every test works in its own temporary directory.

PBKDF2 runs with the format's minimum iteration count (--iterations 1000) to stay fast; the
calibrated default is exercised once.
"""
import argparse
import fnmatch
import hashlib
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-disk")
MARKER = b"THINVISOR-PLAINTEXT-MARKER-7f3a"
ITER = ["--iterations", "1000"]
MIB = 1 << 20

TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


class Dir:
    """A scratch directory with helpers to run the tool in it."""

    def __init__(self, path):
        self.path = path

    def p(self, name):
        return os.path.join(self.path, name)

    def write(self, name, data):
        with open(self.p(name), "wb") as f:
            f.write(data)
        return self.p(name)

    def read(self, name):
        with open(self.p(name), "rb") as f:
            return f.read()

    def run(self, *args, timeout=120):
        return subprocess.run([TOOL] + [str(a) for a in args], cwd=self.path, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)

    def ok(self, *args):
        r = self.run(*args)
        check(r.returncode == 0, "%s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr.strip()))
        return r

    def refused(self, code, words, *args):
        r = self.run(*args)
        check(r.returncode == code, "%s: exit %d, want %d (%s)" % (args[0], r.returncode, code, r.stderr.strip()))
        check(words.lower() in r.stderr.lower(), "%s: message %r lacks %r" % (args[0], r.stderr.strip(), words))
        return r

    def keyslots(self, name="ks", pw="pw", passphrase=b"correct horse battery", extra=()):
        self.write(pw, passphrase + b"\n")
        self.ok("format", name, "--passphrase-file", pw, *ITER, *extra)
        return self.p(name)


def image_bytes(size, seed=1):
    """Random data with markers and an all-zero stretch, like a real disk."""
    rng = random.Random(seed)
    data = bytearray(rng.randbytes(size))
    for off in range(4096, size, 3 * MIB + 77):
        data[off:off + len(MARKER)] = MARKER
    zeros = min(256 * 1024, size // 4)
    data[size // 2:size // 2 + zeros] = bytes(zeros)
    return bytes(data)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def convert(d, op, image, ks="ks", pw="pw"):
    return d.ok(op, image, "--keyslots", ks, "--passphrase-file", pw)


# ---- keys ------------------------------------------------------------------------------------

@test
def format_add_remove_keys(d):
    d.keyslots(passphrase=b"first")
    d.write("pw2", b"second\n")
    out = d.ok("add-key", "ks", "--passphrase-file", "pw", "--new-passphrase-file", "pw2", *ITER).stdout
    check("slot 1" in out, "add-key did not report slot 1: %r" % out)
    check("opens slot 1" in d.ok("verify", "ks", "--passphrase-file", "pw2").stdout, "pw2 does not open slot 1")
    d.ok("remove-key", "ks", "--slot", "0", "--passphrase-file", "pw2")
    d.refused(3, "wrong passphrase", "verify", "ks", "--passphrase-file", "pw")
    check("opens slot 1" in d.ok("verify", "ks", "--passphrase-file", "pw2").stdout, "pw2 lost after removal")
    d.refused(2, "last active keyslot", "remove-key", "ks", "--slot", "1", "--passphrase-file", "pw2")
    d.refused(2, "keyslot is empty", "remove-key", "ks", "--slot", "0", "--passphrase-file", "pw2")
    d.refused(2, "exists", "format", "ks", "--passphrase-file", "pw", *ITER)
    d.write("pw3", b"third\n")
    d.ok("add-key", "ks", "--passphrase-file", "pw2", "--new-passphrase-file", "pw3", "--slot", "5", *ITER)
    check("opens slot 5" in d.ok("verify", "ks", "--passphrase-file", "pw3").stdout, "pw3 not in slot 5")
    d.refused(3, "wrong passphrase", "add-key", "ks", "--passphrase-file", "pw", "--new-passphrase-file", "pw3", *ITER)


@test
def removing_a_key_needs_a_valid_passphrase(d):
    d.keyslots(passphrase=b"first")
    d.write("pw2", b"second\n")
    d.write("bad", b"guess\n")
    d.ok("add-key", "ks", "--passphrase-file", "pw", "--new-passphrase-file", "pw2", *ITER)
    before = d.read("ks")
    d.refused(3, "wrong passphrase", "remove-key", "ks", "--slot", "0", "--passphrase-file", "bad")
    check(d.read("ks") == before, "a refused remove-key changed the keyslot file")


@test
def format_calibrates_pbkdf2_to_the_requested_time(d):
    d.write("pw", b"pw\n")
    out = d.ok("format", "ks", "--passphrase-file", "pw", "--iter-time", "50").stdout
    n = int(re.search(r"(\d+) iterations", out).group(1))
    check(n > 1000, "a 50 ms calibration gave only %d iterations" % n)
    check(os.stat(d.p("ks")).st_mode & 0o077 == 0, "keyslot file is readable by others")
    check(os.path.getsize(d.p("ks")) == 4608, "keyslot file is not 4608 bytes")


# ---- encrypt / decrypt -----------------------------------------------------------------------

@test
def encrypt_then_decrypt_round_trips_byte_exact(d):
    d.keyslots()
    orig = d.write("orig.img", image_bytes(16 * MIB + 512 * 5))
    shutil.copy(orig, d.p("disk.img"))
    convert(d, "encrypt", "disk.img")
    check(sha(d.p("disk.img")) != sha(orig), "encrypt left the image unchanged")
    check(not os.path.exists(d.p("disk.img.tvjournal")), "journal left behind")
    convert(d, "decrypt", "disk.img")
    check(sha(d.p("disk.img")) == sha(orig), "decrypt did not restore the image")


@test
def ciphertext_contains_no_plaintext(d):
    d.keyslots()
    plain = image_bytes(8 * MIB)
    check(plain.count(MARKER) >= 2, "test image lacks markers")
    d.write("disk.img", plain)
    convert(d, "encrypt", "disk.img")
    enc = d.read("disk.img")
    check(MARKER not in enc, "the marker string survived encryption")
    zeros = bytes(512)
    mid = len(plain) // 2
    check(enc[mid:mid + 512] != zeros, "a zero sector stayed zero")
    check(enc[mid:mid + 512] != enc[mid + 512:mid + 1024], "equal sectors encrypt alike (tweak unused?)")


@test
def plaintext_ranges_stay_plaintext_exactly_at_their_edges(d):
    """--plaintext as thinvisor.conf's plaintext =: sector 0 alone (0-0), and 9-16; every
    other sector is encrypted, and decrypt with the same ranges restores the image."""
    d.keyslots()
    orig = image_bytes(1 * MIB)
    d.write("disk.img", orig)
    d.ok("encrypt", "disk.img", "--keyslots", "ks", "--passphrase-file", "pw", "--plaintext", "0-0",
         "--plaintext", "9-16")
    enc = d.read("disk.img")
    for sector in range(24):
        same = enc[sector * 512:(sector + 1) * 512] == orig[sector * 512:(sector + 1) * 512]
        check(same == (sector == 0 or 9 <= sector <= 16), "sector %d %s" % (
            sector, "left plaintext outside the ranges" if same else "encrypted inside a plaintext range"))
    d.refused(2, "overlap", "decrypt", "disk.img", "--keyslots", "ks", "--passphrase-file", "pw",
              "--plaintext", "0-9", "--plaintext", "9-16")
    d.ok("decrypt", "disk.img", "--keyslots", "ks", "--passphrase-file", "pw", "--plaintext", "0-0",
         "--plaintext", "9-16")
    check(d.read("disk.img") == orig, "decrypt with the same ranges did not restore the image")


@test
def sectors_of_4096_bytes_work(d):
    d.keyslots(extra=("--sector-size", "4096"))
    check("4096-byte sectors" in d.ok("verify", "ks", "--no-unlock").stdout, "verify does not show 4096")
    orig = d.write("orig.img", image_bytes(4 * MIB + 4096 * 3, seed=4))
    shutil.copy(orig, d.p("disk.img"))
    convert(d, "encrypt", "disk.img")
    check(MARKER not in d.read("disk.img"), "marker survived")
    convert(d, "decrypt", "disk.img")
    check(sha(d.p("disk.img")) == sha(orig), "4096-byte round trip failed")
    d.write("odd.img", bytes(4096 * 2 + 512))
    d.refused(5, "not a multiple of the sector size 4096", "encrypt", "odd.img", "--keyslots", "ks",
              "--passphrase-file", "pw")
    d.refused(2, "does not match", "encrypt", "disk.img", "--keyslots", "ks", "--passphrase-file", "pw",
              "--sector-size", "512")


# ---- refusals leave the image alone ------------------------------------------------------------

def refused_untouched(d, code, words, ks="ks", pw="pw", image="disk.img"):
    before = sha(d.p(image))
    d.refused(code, words, "encrypt", image, "--keyslots", ks, "--passphrase-file", pw)
    check(sha(d.p(image)) == before, "the refused run changed the image")
    check(not os.path.exists(d.p(image + ".tvjournal")), "the refused run created a journal")


@test
def wrong_passphrase_changes_nothing(d):
    d.keyslots()
    d.write("disk.img", image_bytes(2 * MIB))
    d.write("bad", b"not the passphrase\n")
    refused_untouched(d, 3, "wrong passphrase", pw="bad")


@test
def corrupt_keyslots_change_nothing(d):
    d.keyslots()
    d.write("disk.img", image_bytes(2 * MIB))
    data = bytearray(d.read("ks"))
    data[512 + 20] ^= 0x40  # inside slot 0's salt
    d.write("ks", bytes(data))
    refused_untouched(d, 4, "corrupt")
    d.write("ks", b"this is not a keyslot file at all" * 200)
    refused_untouched(d, 4, "not a thinvisor keyslot file")


@test
def truncated_keyslots_change_nothing(d):
    d.keyslots()
    d.write("disk.img", image_bytes(2 * MIB))
    data = d.read("ks")
    for cut in (4607, 2000, 100):
        d.write("ks", data[:cut])
        refused_untouched(d, 4, "truncated")
    d.write("ks", data + b"\0")
    refused_untouched(d, 4, "longer than the format")
    os.unlink(d.p("ks"))
    refused_untouched(d, 4, "no such file")


@test
def bad_image_size_changes_nothing(d):
    d.keyslots()
    d.write("disk.img", image_bytes(2 * MIB)[:2 * MIB - 100])
    refused_untouched(d, 5, "not a multiple of the sector size 512")
    d.write("disk.img", b"")
    refused_untouched(d, 5, "empty")


@test
def empty_passphrase_file_is_refused(d):
    d.keyslots()
    d.write("disk.img", image_bytes(MIB))
    d.write("empty", b"\n")
    refused_untouched(d, 2, "passphrase is empty", pw="empty")


# ---- interruption --------------------------------------------------------------------------------

def start(d, op, image, pw="pw"):
    return subprocess.Popen([TOOL, op, image, "--keyslots", "ks", "--passphrase-file", pw], cwd=d.path,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def kill_at_percent(d, op, image, percent):
    """Runs op and SIGKILLs it once its progress reaches percent. True if it was killed mid-way."""
    proc = start(d, op, image)
    for line in proc.stderr:
        m = re.match(r"%s: (\d+)%%" % op, line.strip())
        if m and int(m.group(1)) >= percent:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    proc.stderr.close()
    return proc.returncode == -signal.SIGKILL and os.path.exists(d.p(image + ".tvjournal"))


def reference(d, op, source, name):
    """The result of an uninterrupted run of op on a copy of source."""
    shutil.copy(d.p(source), d.p(name))
    convert(d, op, name)
    return sha(d.p(name))


@test
def kill9_during_encrypt_then_resume_equals_an_uninterrupted_run(d):
    d.keyslots()
    d.write("orig.img", image_bytes(64 * MIB, seed=9))
    want = reference(d, "encrypt", "orig.img", "ref.img")
    shutil.copy(d.p("orig.img"), d.p("disk.img"))
    check(kill_at_percent(d, "encrypt", "disk.img", 20), "the first kill did not land mid-way")
    check(kill_at_percent(d, "encrypt", "disk.img", 60), "the second kill did not land mid-way")
    r = convert(d, "encrypt", "disk.img")
    check("resuming the interrupted encrypt" in r.stderr, "the run did not say it resumed")
    check(sha(d.p("disk.img")) == want, "resumed result differs from an uninterrupted run")
    check(not os.path.exists(d.p("disk.img.tvjournal")), "journal left behind")
    convert(d, "decrypt", "disk.img")
    check(sha(d.p("disk.img")) == sha(d.p("orig.img")), "decrypt after a resumed encrypt failed")


@test
def kill9_during_decrypt_then_resume_restores_the_plaintext(d):
    d.keyslots()
    d.write("orig.img", image_bytes(48 * MIB, seed=10))
    shutil.copy(d.p("orig.img"), d.p("disk.img"))
    convert(d, "encrypt", "disk.img")
    check(kill_at_percent(d, "decrypt", "disk.img", 40), "the kill did not land mid-way")
    convert(d, "decrypt", "disk.img")
    check(sha(d.p("disk.img")) == sha(d.p("orig.img")), "resumed decrypt did not restore the image")


@test
def kill9_at_random_moments_loses_nothing(d):
    # Kills that land anywhere: while the journal is created, between its data and record
    # writes, inside the image write, at the very end.
    d.keyslots()
    d.write("orig.img", image_bytes(32 * MIB, seed=11))
    t0 = time.time()
    want = reference(d, "encrypt", "orig.img", "ref.img")
    span = time.time() - t0  # how long a whole run takes here: kills land within it
    shutil.copy(d.p("orig.img"), d.p("disk.img"))
    orig = sha(d.p("orig.img"))
    rng = random.Random(1234)
    landed = 0
    done = False
    for _ in range(30):
        proc = start(d, "encrypt", "disk.img")
        time.sleep(rng.uniform(0.0, 0.3 * span))  # a run resumes with less to do: short kills
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        if os.path.exists(d.p("disk.img.tvjournal")):
            landed += 1
            continue
        # No journal: the run either had not started converting or had finished (the image
        # has no header, so a new encrypt would encrypt it twice; see docs/keyslots.md).
        now = sha(d.p("disk.img"))
        check(now in (orig, want), "the image changed but no journal records the run")
        if now == want:
            done = True
            break
    if not done:
        convert(d, "encrypt", "disk.img")
    check(landed >= 3, "only %d kills landed mid-run" % landed)
    check(sha(d.p("disk.img")) == want, "result after %d kills differs from an uninterrupted run" % landed)
    check(not [f for f in os.listdir(d.path) if ".tvjournal" in f], "journal files left behind")


@test
def kill9_in_every_window_of_the_journal_protocol_loses_nothing(d):
    # The tool's THINVISOR_DISK_CRASH hook sends it SIGKILL at an exact step: after the journal
    # is created; after a chunk's converted data, its record, half of its image write and all of
    # it; after the final record. Chunk 2 is mid-image, chunk 4 the last (short) chunk.
    d.keyslots()
    d.write("orig.img", image_bytes(4 * MIB + 512 * 9, seed=13))
    want = reference(d, "encrypt", "orig.img", "ref.img")
    points = ["created:0", "done:0"] + ["%s:%d" % (step, chunk) for chunk in (0, 2, 4)
                                        for step in ("data", "record", "half", "image")]
    for point in points:
        shutil.copy(d.p("orig.img"), d.p("disk.img"))
        env = dict(os.environ, THINVISOR_DISK_CRASH=point)
        r = subprocess.run([TOOL, "encrypt", "disk.img", "--keyslots", "ks", "--passphrase-file", "pw", "--quiet"],
                           cwd=d.path, env=env, stdin=subprocess.DEVNULL, capture_output=True)
        check(r.returncode == -signal.SIGKILL, "%s: the crash hook did not fire (exit %d)" % (point, r.returncode))
        check(os.path.exists(d.p("disk.img.tvjournal")), "%s: no journal after the crash" % point)
        convert(d, "encrypt", "disk.img")
        check(sha(d.p("disk.img")) == want, "%s: resumed result differs from an uninterrupted run" % point)
        check(not os.path.exists(d.p("disk.img.tvjournal")), "%s: journal left behind" % point)


@test
def interrupted_encrypt_must_be_finished_before_anything_else(d):
    d.keyslots()
    d.write("disk.img", image_bytes(64 * MIB, seed=12))
    check(kill_at_percent(d, "encrypt", "disk.img", 30), "the kill did not land mid-way")
    before = sha(d.p("disk.img"))
    d.refused(6, "interrupted encrypt is pending", "decrypt", "disk.img", "--keyslots", "ks",
              "--passphrase-file", "pw")
    d.write("pw2", b"another\n")
    d.ok("format", "other", "--passphrase-file", "pw2", *ITER)
    d.refused(6, "different keyslot file", "encrypt", "disk.img", "--keyslots", "other",
              "--passphrase-file", "pw2")
    with open(d.p("disk.img.tvjournal"), "r+b") as f:  # destroy both records
        f.write(bytes(1024))
    d.refused(6, "journal is damaged", "encrypt", "disk.img", "--keyslots", "ks", "--passphrase-file", "pw")
    check(sha(d.p("disk.img")) == before, "a refused run changed the interrupted image")


# ---------------------------------------------------------------------------------------------

def selected(name, only):
    if not only:
        return True
    for pat in only.split(","):
        pat = pat.strip()
        if pat and (pat in name or fnmatch.fnmatch(name, pat)):
            return True
    return False


def ensure_tool():
    if not os.access(TOOL, os.X_OK):
        subprocess.run(["make", "-s", "disk-tool"], cwd=ROOT, check=False)
    return os.access(TOOL, os.X_OK)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", metavar="PATTERN", help="run only matching tests")
    args = ap.parse_args()
    tests = [t for t in TESTS if selected("disk_tool." + t.__name__, args.only)]
    if not tests:
        print("FAIL disk_tool: no test matches %r" % args.only)
        return 1
    if not ensure_tool():
        print("FAIL disk_tool: %s is missing and `make disk-tool` did not build it" % TOOL)
        return 1
    failed = 0
    for t in tests:
        name = "disk_tool." + t.__name__
        tmp = tempfile.mkdtemp(prefix="tv-disk-")
        t0 = time.time()
        try:
            t(Dir(tmp))
            print("PASS %s [%.1fs]" % (name, time.time() - t0), flush=True)
        except Failure as e:
            failed += 1
            print("FAIL %s: %s" % (name, e), flush=True)
        except Exception as e:  # a crash of the test itself is a failure too
            failed += 1
            print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
