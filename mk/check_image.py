#!/usr/bin/env python3
"""Checks that thinvisor.elf is loadable through the multiboot a.out kludge: the loader
copies the file verbatim from the header's file offset, so the bytes at every load address
must sit at the matching file offset."""
import struct
import sys


def main(path):
    data = open(path, "rb").read()
    for off in range(0, min(len(data), 8192) - 32, 4):
        magic, flags, checksum = struct.unpack_from("<III", data, off)
        if magic == 0x1BADB002 and (magic + flags + checksum) & 0xFFFFFFFF == 0:
            break
    else:
        sys.exit(f"{path}: no multiboot header in the first 8 KiB")
    if not flags & (1 << 16):
        sys.exit(f"{path}: multiboot header lacks the a.out kludge (QEMU refuses ELF64 without it)")
    header_addr, load_addr, load_end, bss_end, entry = struct.unpack_from("<IIIII", data, off + 12)
    file_start = off - (header_addr - load_addr)
    # Every PT_LOAD segment's file bytes must lie at file_start + (paddr - load_addr).
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _, p_offset, _, p_paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type != 1 or p_filesz == 0:
            continue
        want = file_start + (p_paddr - load_addr)
        if p_offset != want:
            sys.exit(f"{path}: segment at paddr {p_paddr:#x} is at file offset {p_offset:#x}, "
                     f"the a.out kludge would read it from {want:#x}")
    if file_start + (load_end - load_addr) > len(data):
        sys.exit(f"{path}: load_end_addr beyond the end of the file")
    if not (load_addr <= entry < load_end <= bss_end):
        sys.exit(f"{path}: inconsistent multiboot addresses")
    print(f"{path}: multiboot image ok (load {load_addr:#x}-{load_end:#x}, bss to {bss_end:#x}, entry {entry:#x})")


if __name__ == "__main__":
    main(sys.argv[1])
