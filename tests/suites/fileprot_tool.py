#!/usr/bin/env python3
"""End-to-end tests of tools/thinvisor-policy (build/tools/thinvisor-policy): policies compiled
from ext4 images made here with mkfs.ext4 -d (no root, no loop devices), checked against
debugfs (`blocks`, `imap`) as the independent peer and against the image's own bytes; and
from FAT12/16/32 images made with mkfs.fat and mtools, checked against mshowfat and the
boot sector's geometry.

Prints one line per test, `PASS name` or `FAIL name: why`, and exits non-zero if any failed.
--only PATTERN runs the tests whose name contains PATTERN.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "build", "tools", "thinvisor-policy")
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


def run(*cmd, ok=True):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120)
    if ok and p.returncode != 0:
        raise Failure("%s: exit %d: %s" % (" ".join(map(str, cmd[:2])), p.returncode, p.stderr.strip()))
    return p


class Image:
    """An ext4 filesystem made from a directory tree, optionally inside an MBR partition."""

    def __init__(self, work, block_size=4096, part_offset=0):
        self.work = work
        self.bs = block_size
        self.off = part_offset
        root = os.path.join(work, "root")
        for d in ("usr/bin", "etc", "var/log"):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        with open(os.path.join(root, "usr/bin/tool"), "wb") as f:
            f.write(os.urandom(3 * block_size + 100))  # four blocks, the last one partly used
        for name in ("app.conf", "hosts", "other.conf"):
            with open(os.path.join(root, "etc", name), "w") as f:
                f.write("%s = 1\n" % name)
        with open(os.path.join(root, "var/log/audit.log"), "w") as f:
            f.write("x" * 5000)
        self.fs = os.path.join(work, "fs.img")
        with open(self.fs, "wb") as f:
            f.truncate(32 * MIB)
        run("mkfs.ext4", "-q", "-F", "-b", block_size, "-d", root, self.fs)
        self.path = self.fs
        if part_offset:  # one primary MBR partition (type 0x83) at part_offset
            self.path = os.path.join(work, "disk.img")
            with open(self.fs, "rb") as src, open(self.path, "wb") as dst:
                mbr = bytearray(512)
                mbr[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", part_offset // 512,
                                           32 * MIB // 512)
                mbr[510:512] = b"\x55\xaa"
                dst.write(mbr)
                dst.seek(part_offset)
                shutil.copyfileobj(src, dst)
        self.key = os.path.join(work, "admin.pem")
        self.pub = os.path.join(work, "admin.pub")
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key)
        run("openssl", "pkey", "-in", self.key, "-pubout", "-out", self.pub)

    def debugfs(self, cmd):
        return run("debugfs", "-R", cmd, self.fs).stdout

    def blocks(self, path):
        return [int(b) for b in self.debugfs("blocks " + path).split()]

    def inode_at(self, path):
        m = re.search(r"located at block (\d+), offset (0x[0-9a-f]+)", self.debugfs("imap " + path))
        check(m, "debugfs imap %s: %r" % (path, self.debugfs("imap " + path)))
        return self.off + int(m.group(1)) * self.bs + int(m.group(2), 16)

    def dirent_at(self, directory, name):
        """The disk offset of NAME's entry in DIRECTORY, found by scanning its blocks' bytes."""
        with open(self.fs, "rb") as f:
            for b in self.blocks(directory):
                f.seek(b * self.bs)
                data = f.read(self.bs)
                off = 0
                while off + 8 <= self.bs:
                    ino, rec, nl = struct.unpack_from("<IHB", data, off)
                    if rec < 8:
                        break
                    if ino and data[off + 8:off + 8 + nl] == name.encode():
                        return self.off + b * self.bs + off
                    off += rec
        raise Failure("no entry %s in %s" % (name, directory))

    def compile(self, rules, version=3, serial="QM00001", spec=None, ok=True, extra=()):
        rfile = os.path.join(self.work, "rules")
        with open(rfile, "w") as f:
            f.write(rules)
        out = os.path.join(self.work, "p.pol")
        p = run(TOOL, "compile", spec or (self.path + ":1" if self.off else self.path), rfile, "-k", self.key, "-o", out, "--version", version,
                "--disk-serial", serial, *extra, ok=ok)
        return out, p

    def ranges(self, policy):
        out = run(TOOL, "show", policy).stdout
        return [(int(m.group(1)), int(m.group(2)), m.group(3), m.group(4))
                for m in re.finditer(r"^range (\d+) (\d+) (\S+) (\S+)", out, re.M)]


def covered(ranges, off, length, action=None):
    """Whether every byte of [off, off+length) lies in ranges (with that action, if given)."""
    pos = off
    for (o, n, a, _) in ranges:
        if o <= pos < o + n and (action is None or a == action):
            pos = o + n
            if pos >= off + length:
                return True
    return False


def touched(ranges, off, length):
    return any(o < off + length and off < o + n for (o, n, _, _) in ranges)


def check_protected(img, ranges, path, action="protect"):
    for b in img.blocks(path):
        check(covered(ranges, img.off + b * img.bs, img.bs, action), "%s: block %d not %s" % (path, b, action))
    ino = img.inode_at(path)
    check(covered(ranges, ino, 8, action), "%s: inode mode/uid/size not %s" % (path, action))
    check(covered(ranges, ino + 40, 60, action), "%s: inode i_block not %s" % (path, action))
    check(not touched(ranges, ino + 8, 4), "%s: i_atime protected (a read would be refused)" % path)
    d, name = os.path.split(path)
    at = img.dirent_at(d or "/", name)
    check(covered(ranges, at, 4, action), "%s: dirent inode field not %s" % (path, action))
    check(covered(ranges, at + 6, 2 + len(name), action), "%s: dirent name not %s" % (path, action))
    check(not touched(ranges, at + 4, 2), "%s: its own rec_len protected (appending to the dir needs it)" % path)


def each_case(fn):
    for bs, off in ((4096, 0), (1024, MIB)):
        work = tempfile.mkdtemp(prefix="tv-policy-")
        try:
            fn(Image(work, bs, off))
        finally:
            shutil.rmtree(work, ignore_errors=True)


@test
def protect_matches_debugfs_blocks_imap_and_dirents():
    def case(img):
        pol, _ = img.compile("protect /usr/bin/tool\nprotect /etc/app.conf\n")
        r = img.ranges(pol)
        check_protected(img, r, "/usr/bin/tool")
        check_protected(img, r, "/etc/app.conf")
        at = img.dirent_at("/", "usr")  # the directories along the path keep their names
        check(covered(r, at, 4, "protect"), "the entry of /usr is not protected")
        for other in ("/etc/hosts", "/etc/other.conf"):  # neighbours stay free
            for b in img.blocks(other):
                check(not touched(r, img.off + b * img.bs, img.bs), "%s's data is in the policy" % other)
            check(not touched(r, img.inode_at(other), 8), "%s's inode is in the policy" % other)
    each_case(case)


@test
def partition_offset_is_applied():
    def case(img):
        if not img.off:
            return
        pol, _ = img.compile("protect /usr/bin/tool\n", spec=img.path + ":1")
        r = img.ranges(pol)
        first = img.blocks("/usr/bin/tool")[0]
        check(covered(r, img.off + first * img.bs, img.bs), "data not at partition offset + block")
        check(not touched(r, first * img.bs, 1), "range left at the unpartitioned offset")
        _, p = img.compile("protect /usr/bin/tool\n", spec=img.path + ":2", ok=False)
        check(p.returncode == 1 and "no primary MBR partition 2" in p.stderr, "partition 2: %r" % p.stderr)
    each_case(case)


@test
def append_only_enforces_current_bytes_and_audits_metadata():
    def case(img):
        pol, _ = img.compile("append-only /var/log/audit.log\n")
        r = img.ranges(pol)
        blocks = img.blocks("/var/log/audit.log")
        size = 5000
        for i, b in enumerate(blocks):
            n = min(img.bs, size - i * img.bs)
            check(covered(r, img.off + b * img.bs, n, "append-only"), "byte %d of the log not append-only" % (i * img.bs))
        last = blocks[-1]
        tail = img.off + last * img.bs + (size - (len(blocks) - 1) * img.bs)
        check(not touched(r, tail, 1), "the byte past the end of the log is enforced")
        ino = img.inode_at("/var/log/audit.log")
        check(covered(r, ino, 8, "audit"), "the log's inode is not audited")
    each_case(case)


@test
def glob_matches_files_and_an_empty_match_is_refused():
    def case(img):
        pol, _ = img.compile("audit /etc/*.conf\n")
        paths = {p for (_, _, _, p) in img.ranges(pol)}
        check(paths == {"/etc/app.conf", "/etc/other.conf"}, "glob matched %s" % sorted(paths))
        _, p = img.compile("protect /etc/nothing*\n", ok=False)
        check(p.returncode == 1 and "matches no file" in p.stderr, "empty glob: %r" % p.stderr)
        _, p = img.compile("forbid /etc/hosts\n", ok=False)
        check(p.returncode == 1 and "line 1" in p.stderr, "bad action: %r" % p.stderr)
    each_case(case)


@test
def verify_refuses_tampered_other_key_rollback_other_disk():
    work = tempfile.mkdtemp(prefix="tv-policy-")
    try:
        img = Image(work)
        pol, _ = img.compile("protect /usr/bin/tool\n", version=5)
        run(TOOL, "verify", pol, "-p", img.pub, "--in-force", "4", "--disk-serial", "QM00001")
        data = bytearray(open(pol, "rb").read())
        cases = []
        t = bytearray(data)
        t[64 + 8] ^= 1  # the first range's length
        cases.append(("tampered", t, [], "bad signature"))
        u = bytearray(data)
        u[-64:] = bytes(64)
        cases.append(("unsigned", u, [], "unsigned"))
        cases.append(("rollback", data, ["--in-force", "5"], "rollback"))
        cases.append(("other disk", data, ["--disk-serial", "QM00002"], "another disk"))
        cases.append(("truncated", data[:-1], [], "malformed"))
        for name, blob, extra, why in cases:
            path = os.path.join(work, "bad.pol")
            with open(path, "wb") as f:
                f.write(blob)
            p = run(TOOL, "verify", path, "-p", img.pub, *extra, ok=False)
            check(p.returncode == 1 and why in p.stderr, "%s: exit %d %r" % (name, p.returncode, p.stderr))
        other = os.path.join(work, "other.pem")
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", other)
        img.key = other
        pol2, _ = img.compile("protect /usr/bin/tool\n", version=6)
        p = run(TOOL, "verify", pol2, "-p", img.pub, ok=False)
        check(p.returncode == 1 and "bad signature" in p.stderr, "other key: %r" % p.stderr)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@test
def pubkey_line_is_the_pem_body():
    work = tempfile.mkdtemp(prefix="tv-policy-")
    try:
        img = Image(work)
        a = run(TOOL, "pubkey", "-k", img.key).stdout
        b = run(TOOL, "pubkey", "-p", img.pub).stdout
        body = "".join(l for l in open(img.pub).read().splitlines() if not l.startswith("-----"))
        check(a == b == "pubkey = %s\n" % body, "pubkey lines differ: %r %r" % (a, b))
    finally:
        shutil.rmtree(work, ignore_errors=True)


class FatImage:
    """A FAT12/16/32 filesystem made with mkfs.fat and mtools (no root), the ESP's layout;
    its geometry read here from the boot sector, its clusters from mshowfat as the peer."""

    def __init__(self, work, bits):
        self.work, self.path = work, os.path.join(work, "fat.img")
        with open(self.path, "wb") as f:
            f.truncate({12: 1, 16: 16, 32: 64}[bits] * MIB)
        run("mkfs.fat", "-F", bits, "-s", 1, self.path)
        self.env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
        for d in ("::/EFI", "::/EFI/boot"):
            self.mtools("mmd", d)
        for name, data in (("grubx64.efi", os.urandom(9000)), ("grub.cfg", b"set timeout=5\n"),
                           ("other.efi", os.urandom(3000))):
            local = os.path.join(work, name)
            with open(local, "wb") as f:
                f.write(data)
            self.mtools("mcopy", local, "::/EFI/boot/")
        with open(self.path, "rb") as f:
            b = f.read(512)
        bps, spc, res, nfats, root = struct.unpack_from("<HBHBH", b, 11)
        fat_sz = struct.unpack_from("<H", b, 22)[0] or struct.unpack_from("<I", b, 36)[0]
        self.cluster = bps * spc
        self.data = (res + nfats * fat_sz) * bps + (root * 32 + bps - 1) // bps * bps
        self.key = os.path.join(work, "admin.pem")
        run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", self.key)

    def mtools(self, *cmd):
        p = subprocess.run([cmd[0], "-i", self.path] + list(cmd[1:]), capture_output=True, text=True, env=self.env)
        check(p.returncode == 0, "%s: %s" % (" ".join(cmd), p.stderr.strip()))
        return p.stdout

    def clusters(self, path):
        out = self.mtools("mshowfat", path)
        cs = []
        for a, b in re.findall(r"(\d+)(?:-(\d+))?", out.split("<", 1)[1]):
            cs += range(int(a), int(b or a) + 1)
        return cs

    def short_entry(self, name83):
        """The offset of the directory entry whose 8.3 name is name83 (11 bytes)."""
        with open(self.path, "rb") as f:
            img = f.read()
        at = img.find(name83)
        while at >= 0 and (at % 32 or img[at + 11] == 0x0F):
            at = img.find(name83, at + 1)
        check(at >= 0, "no directory entry %r" % name83)
        return at


@test
def fat_file_resolves_to_its_clusters_fat_entries_and_directory_entry():
    for bits in (12, 16, 32):
        work = tempfile.mkdtemp(prefix="tv-policy-fat-")
        try:
            img = FatImage(work, bits)
            rules = os.path.join(work, "rules")
            with open(rules, "w") as f:
                f.write("protect /EFI/BOOT/grubx64.efi\nappend-only /EFI/boot/grub.cfg\n")
            pol = os.path.join(work, "p.pol")
            run(TOOL, "compile", img.path, rules, "-k", img.key, "-o", pol, "--version", 1, "--disk-serial", "QM00001")
            r = Image.ranges(None, pol)
            for c in img.clusters("::/EFI/boot/grubx64.efi"):
                check(covered(r, img.data + (c - 2) * img.cluster, img.cluster, "protect"),
                      "FAT%d: cluster %d of grubx64.efi is not protected" % (bits, c))
            for c in img.clusters("::/EFI/boot/other.efi"):
                check(not touched(r, img.data + (c - 2) * img.cluster, img.cluster),
                      "FAT%d: cluster %d of other.efi is in the policy" % (bits, c))
            cfg = img.clusters("::/EFI/boot/grub.cfg")[0]
            check(covered(r, img.data + (cfg - 2) * img.cluster, 14, "append-only"), "FAT%d: grub.cfg's bytes" % bits)
            check(not touched(r, img.data + (cfg - 2) * img.cluster + 14, img.cluster - 14),
                  "FAT%d: grub.cfg's unused cluster tail is in the policy" % bits)
            at = img.short_entry(b"GRUBX64 EFI")
            check(covered(r, at, 18, "protect") and covered(r, at + 20, 12, "protect"),
                  "FAT%d: grubx64.efi's directory entry is not protected" % bits)
            check(not touched(r, at + 18, 2), "FAT%d: the access date is in the policy (a read rewrites it)" % bits)
            other = img.short_entry(b"OTHER   EFI")
            check(not touched(r, other, 32), "FAT%d: other.efi's entry is in the policy" % bits)
            boot = img.short_entry(b"BOOT       ")
            check(covered(r, boot, 12, "protect") and not touched(r, boot + 22, 4),
                  "FAT%d: /EFI/boot's entry: name protected, times free" % bits)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    if not os.access(TOOL, os.X_OK):
        print("FAIL fileprot_tool: %s is not built (make policy-tool)" % TOOL)
        return 1
    failed = 0
    for fn in TESTS:
        name = "fileprot_tool/" + fn.__name__
        if args.only and args.only not in name:
            continue
        try:
            fn()
            print("PASS " + name)
        except (Failure, subprocess.SubprocessError, OSError) as e:
            failed += 1
            print("FAIL %s: %s" % (name, e))
        sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
