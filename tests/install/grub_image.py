"""Builds what an installed Debian system on a BIOS PC looks like, without root or loop
devices: a root file system tree (the guest's kernel and initramfs as /boot/vmlinuz-VERSION and
/boot/initrd.img-VERSION, /etc/default/grub, Debian's own /etc/grub.d scripts, GRUB's modules
in /boot/grub/i386-pc, an empty dpkg database) and a disk image made from it: an MBR partition
table with one bootable ext4 partition at 1 MiB, GRUB's boot.img in the MBR and its core.img in
the gap after it, as grub-install lays them out on a disk with an MBR label.

grub-install needs a block device to probe, so the two images are placed here by their
documented layout: boot.img learns where core.img starts (the 8-byte LBA at 0x5C, drive 0xFF
at 0x64: use the BIOS's DL), and core.img's first sector (diskboot.img) learns where the rest of
core.img is (its block list at 0x1F4: start LBA, sector count, load segment 0x820)."""
import os
import shutil
import struct
import subprocess

GRUB_PC = "/usr/lib/grub/i386-pc"
KERNEL_VERSION = "6.1.0-tv-amd64"
PART_START = 2048  # sectors
SECTOR = 512

DEFAULT_GRUB = """\
# Written by the test like an installed Debian's /etc/default/grub, with the serial console.
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="{cmdline}"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
"""

# The grub.d scripts grub-mkconfig runs on a Debian 12 BIOS machine, taken from this host's
# grub-common (00_header, 10_linux...). 30_uefi-firmware and 30_os-prober have nothing to add.
GRUB_D = ["00_header", "05_debian_theme", "10_linux", "40_custom", "41_custom"]


def make_root(root, kernel, initrd, cmdline):
    """The installed system's tree, before the package."""
    for d in ("boot/grub", "etc/grub.d", "etc/default", "var/lib/dpkg/info", "var/lib/dpkg/updates",
              "var/lib/dpkg/triggers", "var/log", "usr/sbin", "tmp"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    for f in ("status", "available"):
        open(os.path.join(root, "var/lib/dpkg", f), "a").close()
    shutil.copy(kernel, os.path.join(root, "boot", "vmlinuz-" + KERNEL_VERSION))
    shutil.copy(initrd, os.path.join(root, "boot", "initrd.img-" + KERNEL_VERSION))
    with open(os.path.join(root, "etc/default/grub"), "w") as f:
        f.write(DEFAULT_GRUB.format(cmdline=cmdline))
    for s in GRUB_D:
        src = os.path.join("/etc/grub.d", s)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(root, "etc/grub.d", s))
    mods = os.path.join(root, "boot/grub/i386-pc")
    os.makedirs(mods, exist_ok=True)
    for name in os.listdir(GRUB_PC):
        if name.endswith((".mod", ".lst")):
            shutil.copy(os.path.join(GRUB_PC, name), mods)


def write_disk(image, root, mib=96):
    """(Re)writes the whole disk image from the root tree: partition table, file system, GRUB."""
    with open(image, "wb") as f:
        f.truncate(mib << 20)
    subprocess.run(["sfdisk", "-q", image], input="label: dos\nstart=%d, type=83, bootable\n" % PART_START,
                   text=True, check=True)
    part_bytes = (mib << 20) - PART_START * SECTOR
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "tvroot", "-U", "3f1b2c4d-5e6f-4a1b-9c2d-3e4f5a6b7c8d",
                    "-d", root, "-E", "offset=%d" % (PART_START * SECTOR), image, "%dk" % (part_bytes // 1024)],
                   check=True, env=dict(os.environ, E2FSPROGS_FAKE_TIME="1700000000"))
    core = image + ".core"
    subprocess.run(["grub-mkimage", "-O", "i386-pc", "-o", core, "-p", "(hd0,msdos1)/boot/grub",
                    "biosdisk", "part_msdos", "ext2"], check=True)
    install_boot_code(image, core)
    os.unlink(core)


def install_boot_code(image, core_path):
    with open(os.path.join(GRUB_PC, "boot.img"), "rb") as f:
        boot = bytearray(f.read())
    with open(core_path, "rb") as f:
        core = bytearray(f.read())
    sectors = (len(core) + SECTOR - 1) // SECTOR
    if 1 + sectors > PART_START:
        raise RuntimeError("core.img (%d sectors) does not fit before the partition" % sectors)
    core += bytes(sectors * SECTOR - len(core))
    struct.pack_into("<QHH", core, 0x1F4, 2, sectors - 1, 0x820)  # the rest of core.img
    with open(image, "r+b") as f:
        mbr = bytearray(f.read(SECTOR))
        mbr[0:0x1B8] = boot[0:0x1B8]  # keep the disk signature and the partition table
        struct.pack_into("<Q", mbr, 0x5C, 1)  # core.img starts at LBA 1
        mbr[0x64] = 0xFF  # boot from the drive in DL
        mbr[0x66:0x68] = b"\x90\x90"  # no floppy-style drive check on a hard disk
        f.seek(0)
        f.write(mbr)
        f.write(core)
