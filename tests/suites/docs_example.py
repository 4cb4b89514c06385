#!/usr/bin/env python3
"""docs/config.md, "A full boot with an encrypted disk", followed from the doc itself: the
shell lines of its first indented block run verbatim in a scratch directory (where `build`
points at this tree's build/), except that the two thinvisor-disk commands get
`--passphrase-file` (and `format` few PBKDF2 iterations: the monitor derives the key under
full emulation), and QEMU's command line is taken from the block with its `-serial` options
replaced by this suite's console socket and log file (plus -display none, -no-reboot and the
guest script that powers off). The prompt the doc shows must appear, the passphrase typed on
COM1 must boot the guest from the encrypted disk; a second boot with wrong passphrases must
print the doc's three lines and then halt: QEMU still running, nothing more on either port.
So the documented commands cannot drift from the code.

Prints `PASS name` / `FAIL name: why`; exits 1 on any failure."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _qemu_console import QemuConsole  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "config.md")
SECTION = "## A full boot with an encrypted disk"
PASSPHRASE = "docs example passphrase"
NAME = "docs_example.encrypted_disk_boots_as_documented"


def doc_blocks():
    """The indented blocks of the section, in order, as lists of lines (indent removed)."""
    with open(DOC) as f:
        text = f.read()
    start = text.index(SECTION)
    end = text.find("\n## ", start + 1)
    blocks, cur = [], []
    for line in text[start:end if end > 0 else None].splitlines():
        if line.startswith("    "):
            cur.append(line[4:])
        elif line.strip() == "" and cur:
            cur.append("")
        elif cur:
            blocks.append([l for l in cur if l] if cur else cur)
            cur = []
    if cur:
        blocks.append([l for l in cur if l])
    return blocks


def split_commands(block):
    """(shell lines, QEMU argv): the qemu command is the one starting with qemu-system."""
    shell, qemu = [], None
    i = 0
    while i < len(block):
        line = block[i]
        if line.startswith("qemu-system-x86_64"):
            joined = ""
            while True:
                joined += block[i].rstrip("\\").strip() + " "
                if not block[i].rstrip().endswith("\\"):
                    break
                i += 1
            qemu = shlex.split(joined)
        else:
            shell.append(line)
        i += 1
    return shell, qemu


def tool_line(line):
    if re.match(r"build/tools/thinvisor-disk (format|encrypt) ", line):
        extra = " --passphrase-file pass --quiet"
        if " format " in line:
            extra += " --iterations 2000"
        return line + extra
    return line


def qemu_args(argv, work):
    out, i = [], 1  # argv[0] is the binary
    while i < len(argv):
        if argv[i] == "-serial":
            i += 2
            continue
        out.append(argv[i])
        i += 1
    script = os.path.join(work, "script.sh")
    with open(script, "w") as f:
        f.write('echo "TV-DOCS-EXAMPLE booted from the encrypted disk"\n')
    return out + ["-display", "none", "-no-reboot", "-fw_cfg", "name=opt/thinvisor/script,file=%s" % script]


def run(work):
    blocks = doc_blocks()
    if len(blocks) < 3:
        return ["docs/config.md: the section has %d indented blocks, want commands, prompt, refusal" % len(blocks)]
    shell, argv = split_commands(blocks[0])
    if not argv:
        return ["docs/config.md: no qemu-system-x86_64 command in the example"]
    prompt = re.sub(r"\*+$", "", blocks[1][0]).encode()
    refusal = [l.encode() for l in blocks[2]]
    os.symlink(os.path.join(ROOT, "build"), os.path.join(work, "build"))
    with open(os.path.join(work, "pass"), "w") as f:
        f.write(PASSPHRASE)
    r = subprocess.run(["bash", "-euc", "\n".join(tool_line(l) for l in shell)], cwd=work, capture_output=True,
                       text=True, timeout=600)
    if r.returncode != 0:
        return ["the documented commands failed (%d): %s" % (r.returncode, (r.stderr or r.stdout)[-400:])]
    os.chdir(work)
    problems = []
    b = QemuConsole(work, qemu_args(argv, work), 400)
    try:
        if not b.read_until(prompt, 120):
            return ["the documented prompt %r did not appear (console %r)" % (prompt, b.console[-300:])]
        b.type(PASSPHRASE)
        if not b.read_until(b"TV-DOCS-EXAMPLE booted", 300):
            problems.append("the guest did not boot from the encrypted disk (console %r)" % b.console[-400:])
        b.wait_exit(60)
    finally:
        log = b.kill()
    if b"keys: disk 'system' unlocked with slot 0" not in log:
        problems.append("monitor.log does not record the unlock")
    # The last wrong try: the doc's three lines, then nothing, and QEMU keeps running.
    b = QemuConsole(work, qemu_args(argv, work), 200)
    try:
        for n in range(3):
            if not b.read_until(b"(%d tries left)" % (3 - n), 120):
                return problems + ["no prompt for try %d (console %r)" % (n + 1, b.console[-300:])]
            b.type("wrong %d" % n)
        if not b.read_until(refusal[-1], 120):
            return problems + ["the refusal after the last wrong try is not the documented one (console %r)"
                               % b.console[-400:]]
        for line in refusal:
            if line not in b.console:
                problems.append("the documented line %r did not appear" % line)
        seen = len(b.console)
        b.read_until(b"\0never", 15)
        if b.proc.poll() is not None:
            problems.append("QEMU exited after the refusal; the doc says the monitor halts and QEMU never exits")
        if b.console[seen:].strip() or b"thinvisor-guest: up" in b.console:  # the last line's own newline aside
            problems.append("something ran after the refusal: %r" % b.console[seen:][:200])
    finally:
        b.kill()
    return problems


def main():
    if "--list" in sys.argv:
        print(NAME)
        return 0
    for need in ("thinvisor.elf", "tools/thinvisor-disk", "guest/disk.img"):
        if not os.path.exists(os.path.join(ROOT, "build", need)):
            print("FAIL %s: build/%s is missing (make, make disk-tool, make guest)" % (NAME, need))
            return 1
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as work:
        start = time.monotonic()
        try:
            problems = run(work)
        except Exception as e:  # noqa: BLE001 -- a broken test is a failure, not a crash
            problems = ["%s: %s" % (type(e).__name__, e)]
        os.chdir(cwd)
        secs = time.monotonic() - start
        if problems:
            keep = os.path.join(ROOT, "build", "test-results", NAME)
            os.makedirs(keep, exist_ok=True)
            for f in ("monitor.log", "console.log"):
                if os.path.exists(os.path.join(work, f)):
                    shutil.copy(os.path.join(work, f), keep)
            print("FAIL %s: %s [%.0fs]" % (NAME, "; ".join(problems), secs))
            return 1
        print("PASS %s [%.0fs]" % (NAME, secs))
        return 0


if __name__ == "__main__":
    sys.exit(main())
