"""Helpers the two installation suites share (install_bios.py, install_uefi.py): PASS/FAIL
lines, reading a serial log, and finding what they install and boot."""
import glob
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build")
GUEST = os.path.join(BUILD, "guest")
CHECKS = os.path.join(ROOT, "tests", "qemu", "guest")

results = []


def report(name, ok, why=""):
    results.append(ok)
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)), flush=True)


def read(path):
    """A log as text ('' when it is missing): serial logs hold stray bytes."""
    return open(path, "rb").read().decode("utf-8", "replace") if os.path.exists(path) else ""


def package():
    """The newest build/deb/thinvisor_*_amd64.deb, or None (make deb)."""
    debs = sorted(glob.glob(os.path.join(BUILD, "deb", "thinvisor_*_amd64.deb")))
    return debs[-1] if debs else None
