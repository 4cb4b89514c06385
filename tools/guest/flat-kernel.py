#!/usr/bin/env python3
"""Turns a compressed bzImage into a "flat" one that boots without decompressing.

Usage: flat-kernel.py BZIMAGE OUT

The kernel itself is unchanged: its real-mode setup sectors stay as they are and its vmlinux
(decompressed here, byte for byte) is laid out as its ELF program headers say. Only the
decompressor is replaced, by tools/guest/flatboot.S, which moves the image into place and
enters the kernel through the 64-bit boot protocol. Under Bochs the XZ decompression costs
most of a Linux boot (about 4 of 6 billion instructions); a boot loader such as syslinux
loads the flat file like any bzImage. The boot loader must load it at 0x100000 (the header
says "not relocatable").

Python 3 standard library, plus `gcc` and `ld` for the stub.
"""
import lzma
import os
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
STUB_SRC = os.path.join(HERE, "flatboot.S")
LOAD_ADDR = 0x100000  # where a boot loader puts the protected-mode part of a bzImage
STUB_SIZE = 0x4000    # as flatboot.S says

# Setup header fields (Documentation/arch/x86/boot.rst), offsets into the file.
HDR_SETUP_SECTS = 0x1F1
HDR_SYSSIZE = 0x1F4
HDR_MAGIC = 0x202
HDR_VERSION = 0x206
HDR_CODE32_START = 0x214
HDR_RELOCATABLE = 0x234
HDR_XLOADFLAGS = 0x236
HDR_PAYLOAD_OFFSET = 0x248
HDR_PAYLOAD_LENGTH = 0x24C
HDR_PREF_ADDRESS = 0x258
HDR_INIT_SIZE = 0x260


def die(msg):
    sys.exit("flat-kernel: " + msg)


def payload(bz):
    if bz[HDR_MAGIC:HDR_MAGIC + 4] != b"HdrS":
        die("not a bzImage (no HdrS)")
    version, = struct.unpack_from("<H", bz, HDR_VERSION)
    if version < 0x20A:
        die("boot protocol %#x is older than 2.10" % version)
    setup = (bz[HDR_SETUP_SECTS] or 4) + 1
    offset, length = struct.unpack_from("<II", bz, HDR_PAYLOAD_OFFSET)
    start = setup * 512 + offset
    data = bz[start:start + length]
    # The kernel build appends the uncompressed size; the streams themselves carry no end
    # marker Python insists on, so decompress incrementally and check that size instead.
    size, = struct.unpack("<I", data[-4:])
    if data.startswith(b"\xfd7zXZ\x00"):
        out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data)
    elif data.startswith(b"\x5d\x00\x00"):
        out = lzma.LZMADecompressor(format=lzma.FORMAT_ALONE).decompress(data)
    elif data.startswith(b"\x1f\x8b"):
        out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    else:
        die("kernel payload compressed with a method Python cannot undo (%s)" % data[:4].hex())
    if len(out) != size:
        die("decompressed %d bytes, the kernel says %d" % (len(out), size))
    return setup, out


def flat_image(elf):
    """The PT_LOAD segments at their physical addresses: (image, phys, end of memory, entry)."""
    if elf[:4] != b"\x7fELF" or elf[4] != 2:
        die("the payload is not a 64-bit ELF vmlinux")
    entry, phoff = struct.unpack_from("<QQ", elf, 0x18)
    phentsize, phnum = struct.unpack_from("<HH", elf, 0x36)
    loads = []
    for i in range(phnum):
        p_type, _, p_offset, _, p_paddr, p_filesz, p_memsz = struct.unpack_from("<IIQQQQQ", elf,
                                                                                 phoff + i * phentsize)
        if p_type == 1:
            loads.append((p_paddr, elf[p_offset:p_offset + p_filesz], p_memsz))
    phys = min(p for p, _, _ in loads)
    end = max(p + m for p, _, m in loads)
    image = bytearray(max(p + len(d) for p, d, _ in loads) - phys)
    for p, d, _ in loads:
        image[p - phys:p - phys + len(d)] = d
    image = bytes(image).rstrip(b"\0")  # the stub zeroes everything after the image
    image += b"\0" * (-len(image) % 4)
    return image, phys, (end + 0xFFF) & ~0xFFF, entry


def build_stub(image_len, phys, end, entry):
    with tempfile.TemporaryDirectory() as tmp:
        obj, out = os.path.join(tmp, "stub.o"), os.path.join(tmp, "stub.bin")
        defs = ["-Wa,--defsym,%s=%#x" % kv for kv in
                (("IMAGE_LEN", image_len), ("KERNEL_PHYS", phys), ("KERNEL_END", end), ("KERNEL_ENTRY", entry))]
        subprocess.run(["gcc", "-c", "-o", obj, STUB_SRC] + defs, check=True)
        subprocess.run(["ld", "-o", out, "-Ttext=%#x" % LOAD_ADDR, "--oformat", "binary", "-e", "_start", obj],
                       check=True)
        with open(out, "rb") as f:
            stub = f.read()
    if len(stub) != STUB_SIZE:
        die("stub is %d bytes, expected %d" % (len(stub), STUB_SIZE))
    return stub


def main(src, dst):
    with open(src, "rb") as f:
        bz = f.read()
    setup_sects, vmlinux = payload(bz)
    image, phys, end, entry = flat_image(vmlinux)
    if phys < LOAD_ADDR + STUB_SIZE:  # the stub's backward copy needs the image to move up
        die("the kernel's physical address %#x lies below the loaded image" % phys)
    if end > (1 << 30):
        die("the kernel ends above 1 GiB, beyond the stub's identity map")
    stub = build_stub(len(image), phys, end, entry)
    setup = bytearray(bz[:setup_sects * 512])
    pm_size = len(stub) + len(image)
    struct.pack_into("<I", setup, HDR_SYSSIZE, (pm_size + 15) // 16)
    struct.pack_into("<I", setup, HDR_CODE32_START, LOAD_ADDR)
    setup[HDR_RELOCATABLE] = 0                          # load it at 0x100000, nowhere else
    struct.pack_into("<H", setup, HDR_XLOADFLAGS, 0)     # no 64-bit or EFI entry points here
    struct.pack_into("<II", setup, HDR_PAYLOAD_OFFSET, 0, 0)
    struct.pack_into("<Q", setup, HDR_PREF_ADDRESS, LOAD_ADDR)
    struct.pack_into("<I", setup, HDR_INIT_SIZE, end - LOAD_ADDR)  # keeps the initrd clear of it
    tmp = dst + ".tmp"
    with open(tmp, "wb") as f:
        f.write(setup + stub + image)
    os.replace(tmp, dst)
    print("flat-kernel: %s: %d MiB image for %#x-%#x, entry %#x" % (dst, len(image) >> 20, phys, end, entry))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    main(sys.argv[1], sys.argv[2])
