"""Builds what an installed Debian system on a UEFI PC looks like, without root or loop devices
(tests/suites/install_uefi.py): a GPT disk with an EFI system partition holding GRUB EFI as
\\EFI\\debian\\grubx64.efi (Debian's grub-efi-amd64-bin, grub-mkimage) and an ext4 root with
/boot/grub/grub.cfg, the guest's kernel and initramfs, and the userland that the package's
maintainer scripts run in: dpkg, efibootmgr, findmnt/lsblk, python3 (thinvisor-install-efi),
busybox for the rest. The programs are this host's (Debian 12, like the guest kernel), copied
with the libraries ldd names; the dpkg database lists the package's dependencies as installed
(their status stanzas are this host's), so `dpkg -i` runs as on a real system, unforced.

The test guest's initramfs has no ext4 driver (a Debian initramfs for an ext4 root would):
the system's initrd is the test initrd followed by a second cpio with ext4 and its
dependencies from the same kernel package and a regenerated modules.dep (the kernel unpacks
concatenated archives in order), so `modprobe ext4` works in the guest.

The ESP also holds a copy of GRUB as \\EFI\\BOOT\\BOOTX64.EFI, the removable-media path: a fresh
OVMF variable store has no boot entry for the disk, so the first boot (the installation) finds
GRUB there; the guest then registers \\EFI\\debian\\grubx64.efi with efibootmgr as Debian's
grub-install does, before the package is installed."""
import glob
import os
import shutil
import subprocess

KERNEL_VERSION = "6.1.0-tv-amd64"
SECTOR = 512
ESP_START = 2048  # sectors
ESP_MIB = 64
ROOT_UUID = "7c3e5a10-2b4d-4e6f-8a1b-2c3d4e5f6a7b"
ESP_VOLID = "5AFE1D19"
ESP_UUID = "5AFE-1D19"
DISK_GUID = "8E1F0A6C-3B2D-4C5E-9F70-1A2B3C4D5E6F"
ESP_PART_GUID = "1D0C5A7E-6B3F-4E21-8D9C-0A1B2C3D4E5F"
ROOT_PART_GUID = "2E1D6B8F-7C40-4F32-9EAD-1B2C3D4E5F60"
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
LINUX_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
GRUB_EFI = "/usr/lib/grub/x86_64-efi"
GRUB_MODULES = ["part_gpt", "fat", "ext2", "normal", "linux", "configfile", "echo", "search",
                "search_fs_uuid", "gzio", "efi_gop", "all_video", "test"]
# Programs of the installed system (host paths); busybox provides everything else, but not
# /bin/sh: Debian's busybox sh runs its own applets before PATH (its dpkg, for one).
PROGRAMS = ["/usr/bin/dash", "/usr/bin/dpkg", "/usr/bin/dpkg-deb", "/usr/bin/dpkg-query", "/usr/bin/dpkg-split",
            "/usr/bin/efibootmgr", "/usr/bin/findmnt", "/usr/bin/lsblk", "/usr/bin/python3.11",
            "/usr/sbin/ldconfig", "/usr/bin/tar"]  # dpkg-deb runs GNU tar
# Packages the thinvisor package depends on (packaging/debian/control), listed as installed.
# Their own relations are left out: the database lists only what this system holds.
INSTALLED = ["libc6", "libstdc++6", "libgcc-s1", "libext2fs2", "libcom-err2", "python3", "efibootmgr", "dpkg"]
RELATIONS = ("Depends:", "Pre-Depends:", "Recommends:", "Suggests:", "Breaks:", "Conflicts:", "Replaces:",
             "Provides:", "Enhances:")
PY_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip", "pydoc_data",
           "site-packages", "dist-packages", "unittest", "config-3.11-x86_64-linux-gnu", "__pycache__"}
EXT4_MODULES = ["kernel/fs/ext4/", "kernel/fs/jbd2/", "kernel/fs/mbcache.ko", "kernel/lib/crc16.ko",
                "kernel/crypto/crc32c_generic.ko"]

GRUB_STUB = """search.fs_uuid {uuid} root
set prefix=($root)'/boot/grub'
configfile $prefix/grub.cfg
"""
GRUB_CFG = """# /boot/grub/grub.cfg of the test's installed system (written by the test, as
# grub-mkconfig would for one kernel; GRUB EFI's console is the firmware's, which is COM1).
set timeout=0
set default=0
menuentry 'Debian GNU/Linux' {{
    search --no-floppy --fs-uuid --set=root {uuid}
    echo 'Loading Linux {kver} ...'
    linux /boot/vmlinuz-{kver} root=UUID={uuid} ro {cmdline}
    initrd /boot/initrd.img-{kver}
}}
"""
FSTAB = """UUID={uuid} / ext4 errors=remount-ro 0 1
UUID={esp} /boot/efi vfat umask=0077 0 1
"""


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def libraries(programs):
    libs = set()
    for p in programs:
        out = run(["ldd", p]).stdout
        for word in out.split():
            if word.startswith("/"):
                libs.add(word)
    return sorted(libs)


def copy_file(src, root):
    """src's content at its own name under root, with the merged-usr links (/lib, /lib64, /bin,
    /sbin) resolved, so that a library is found under the name ldd gives."""
    rel = src.lstrip("/")
    for top in ("lib64/", "lib/", "bin/", "sbin/"):
        if rel.startswith(top):
            rel = "usr/" + rel
    dst = os.path.join(root, rel)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    shutil.copy2(src, dst)  # follows a symlink: the file itself, under the name asked for
    return dst


def copy_python(root):
    src = "/usr/lib/python3.11"
    dst = os.path.join(root, "usr/lib/python3.11")
    shutil.copytree(src, dst, symlinks=True, ignore=lambda d, names: [n for n in names if n in PY_SKIP])
    for lib in libraries(glob.glob(os.path.join(src, "lib-dynload", "*.so"))):
        copy_file(lib, root)


def dpkg_database(root):
    db = os.path.join(root, "var/lib/dpkg")
    for d in ("info", "updates", "triggers", "alternatives"):
        os.makedirs(os.path.join(db, d), exist_ok=True)
    status = run(["dpkg-query", "-s"] + INSTALLED).stdout
    status = "\n".join(line for line in status.splitlines() if not line.startswith(RELATIONS))
    with open(os.path.join(db, "status"), "w") as f:
        f.write(status.rstrip("\n") + "\n\n")
    open(os.path.join(db, "available"), "a").close()
    for pkg in INSTALLED:  # empty file lists (dpkg warns when they are missing)
        name = pkg + ":amd64" if os.path.exists("/var/lib/dpkg/info/%s:amd64.list" % pkg) else pkg
        open(os.path.join(db, "info", name + ".list"), "a").close()


def make_root(root, kernel, initrd, cmdline, deb):
    """The installed system's tree, before the package; deb is placed at /root/."""
    for d in ("usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu", "usr/lib64", "boot/grub", "boot/efi", "etc",
              "proc", "sys", "dev", "run", "tmp", "root", "var/log", "var/lib", "mnt"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for link, target in (("bin", "usr/bin"), ("sbin", "usr/sbin"), ("lib", "usr/lib"), ("lib64", "usr/lib64")):
        os.symlink(target, os.path.join(root, link))
    for p in PROGRAMS:
        copy_file(p, root)
    for lib in libraries(PROGRAMS):
        copy_file(lib, root)
    os.symlink("python3.11", os.path.join(root, "usr/bin/python3"))
    os.symlink("dash", os.path.join(root, "usr/bin/sh"))
    copy_python(root)
    shutil.copy2("/bin/busybox", os.path.join(root, "usr/bin/busybox"))
    applets = run(["/bin/busybox", "--list-full"]).stdout.split()
    for a in applets:
        path = os.path.join(root, a.replace("sbin/", "usr/sbin/", 1) if a.startswith("sbin/") else
                            a.replace("bin/", "usr/bin/", 1) if a.startswith("bin/") else a)
        if not os.path.lexists(path) and not os.path.lexists(os.path.join(root, "usr/bin", os.path.basename(a))) \
                and not os.path.lexists(os.path.join(root, "usr/sbin", os.path.basename(a))):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink("/usr/bin/busybox", path)
    dpkg_database(root)
    etc = os.path.join(root, "etc")
    with open(os.path.join(etc, "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(etc, "group"), "w") as f:
        f.write("root:x:0:\n")
    with open(os.path.join(etc, "fstab"), "w") as f:
        f.write(FSTAB.format(uuid=ROOT_UUID, esp=ESP_UUID))
    with open(os.path.join(etc, "debian_version"), "w") as f:
        f.write("12.0\n")
    shutil.copy(kernel, os.path.join(root, "boot", "vmlinuz-" + KERNEL_VERSION))
    with open(os.path.join(root, "boot", "initrd.img-" + KERNEL_VERSION), "wb") as f:
        f.write(open(initrd, "rb").read())
    with open(os.path.join(root, "boot/grub/grub.cfg"), "w") as f:
        f.write(GRUB_CFG.format(uuid=ROOT_UUID, kver=KERNEL_VERSION, cmdline=cmdline))
    shutil.copy(deb, os.path.join(root, "root", "thinvisor.deb"))


def ext4_cpio(work, kernel_deb, guest_modules, initrd_out, initrd):
    """initrd_out = initrd + a cpio with ext4 and its dependencies (from kernel_deb) and the
    modules.dep of guest_modules (build/guest/modules) plus those."""
    x = os.path.join(work, "kernel-x")
    shutil.rmtree(x, ignore_errors=True)
    os.makedirs(x)
    pats = ["*/" + m + ("*" if m.endswith("/") else "*") for m in EXT4_MODULES]
    subprocess.run("dpkg-deb --fsys-tarfile '%s' | tar -x -C '%s' --wildcards %s" % (
        kernel_deb, x, " ".join("'%s'" % p for p in pats)), shell=True, check=True)
    kver = os.listdir(os.path.join(guest_modules, "lib/modules"))[0]
    tree = os.path.join(work, "ext4-tree")
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(guest_modules, tree)
    new = []
    for base in glob.glob(os.path.join(x, "*lib/modules", kver)) + glob.glob(os.path.join(x, "usr/lib/modules", kver)):
        for dirpath, _, files in os.walk(base):
            for n in files:
                if ".ko" not in n:
                    continue
                rel = os.path.relpath(os.path.join(dirpath, n), base)
                dst = os.path.join(tree, "lib/modules", kver, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                src = os.path.join(dirpath, n)
                if n.endswith(".xz"):
                    subprocess.run("xz -dc '%s' > '%s'" % (src, dst[:-3]), shell=True, check=True)
                    dst = dst[:-3]
                elif n.endswith(".zst"):
                    subprocess.run("zstd -qdc '%s' > '%s'" % (src, dst[:-4]), shell=True, check=True)
                    dst = dst[:-4]
                else:
                    shutil.copy(src, dst)
                new.append(os.path.relpath(dst, tree))
    if not any(n.endswith("/ext4.ko") for n in new):
        raise RuntimeError("no ext4.ko in %s" % kernel_deb)
    run(["depmod", "-b", tree, kver])
    deps = run(["modprobe", "-d", tree, "-S", kver, "--show-depends", "ext4"]).stdout
    missing = [w for line in deps.splitlines() for w in line.split()[1:2]
               if line.startswith("insmod") and not os.path.exists(w)]
    if missing:
        raise RuntimeError("ext4 needs modules that are not staged: %s" % missing)
    moddir = os.path.join("lib/modules", kver)
    files = new + [os.path.join(moddir, n) for n in os.listdir(os.path.join(tree, moddir)) if n.startswith("modules.")]
    dirs = {os.path.dirname(f) for f in files}
    for d in list(dirs):  # the kernel's unpacker makes no missing parent directory
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    listing = "\n".join(sorted(dirs | set(files))) + "\n"
    cpio = subprocess.run("cpio --quiet -o -H newc --owner=0:0 --reproducible | gzip -6 -n", shell=True, cwd=tree,
                          input=listing.encode(), capture_output=True, check=True).stdout
    with open(initrd_out, "wb") as f:
        f.write(open(initrd, "rb").read())
        f.write(cpio)


def grub_efi(out):
    run(["grub-mkimage", "-O", "x86_64-efi", "-o", out, "-p", "/EFI/debian", *GRUB_MODULES])


def write_disk(image, root, work, mib=288):
    """The whole disk from the root tree: GPT, the ESP (GRUB EFI, the stub grub.cfg; FAT32 by
    mkfs.fat and mtools at an offset) and the ext4 root (mke2fs -d)."""
    with open(image, "wb") as f:
        f.truncate(mib << 20)
    esp_sectors = ESP_MIB << 11
    root_sectors = (mib - ESP_MIB - 2) << 11  # 1 MiB before the ESP, 1 MiB for the backup GPT
    run(["sfdisk", "-q", image], input="label: gpt\nlabel-id: %s\n"
        "start=%d, size=%d, type=%s, uuid=%s, name=\"EFI System Partition\"\n"
        "start=%d, size=%d, type=%s, uuid=%s\n" % (
            DISK_GUID, ESP_START, esp_sectors, ESP_TYPE, ESP_PART_GUID, ESP_START + esp_sectors, root_sectors,
            LINUX_TYPE, ROOT_PART_GUID))
    run(["mkfs.fat", "-F", "32", "-s", "1", "-h", str(ESP_START), "-i", ESP_VOLID, "-n", "EFI",
         "--offset=%d" % ESP_START, image,
         str(esp_sectors // 2)])
    esp = os.path.join(work, "esp")
    shutil.rmtree(esp, ignore_errors=True)
    for d in ("EFI/debian", "EFI/BOOT"):
        os.makedirs(os.path.join(esp, d))
    grub_efi(os.path.join(esp, "EFI/debian/grubx64.efi"))
    shutil.copy(os.path.join(esp, "EFI/debian/grubx64.efi"), os.path.join(esp, "EFI/BOOT/BOOTX64.EFI"))
    with open(os.path.join(esp, "EFI/debian/grub.cfg"), "w") as f:
        f.write(GRUB_STUB.format(uuid=ROOT_UUID))
    run(["mcopy", "-s", "-i", "%s@@%d" % (image, ESP_START * SECTOR), os.path.join(esp, "EFI"), "::/"],
        env=dict(os.environ, MTOOLS_SKIP_CHECK="1"))
    start = (ESP_START + esp_sectors) * SECTOR
    run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "tvroot", "-U", ROOT_UUID, "-d", root,
         "-E", "offset=%d" % start, image, "%dk" % (root_sectors // 2)], env=dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000"))
