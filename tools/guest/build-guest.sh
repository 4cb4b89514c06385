#!/usr/bin/env bash
# Builds the thinvisor test guest: a Debian kernel, a busybox initramfs with the guest tools,
# and a bootable raw disk image (MBR + FAT + syslinux), all without root or loop devices.
#
# Usage: tools/guest/build-guest.sh [--out DIR] [--cache DIR] [disk options]
#   --out DIR    output directory (default: build/guest)
#   --cache DIR  download cache that survives `make clean` (default: third_party/cache)
# Disk options, for a variant image beside disk.img (e.g. tools/guest/build-bochs-guest.sh):
#   --disk-name NAME     write the image as DIR/NAME (default: disk.img)
#   --disk-kernel FILE   boot FILE instead of DIR/vmlinuz (it is still /vmlinuz on the disk)
#   --disk-append ARGS   kernel command line instead of the default one
# Environment: GUEST_KERNEL_PKG=linux-image-6.1.0-NN-amd64 pins the kernel package
#              (default: whatever linux-image-amd64 depends on, fetched once and then taken
#              from the cache; GUEST_KERNEL_UPDATE=1 fetches the current candidate again).
#
# Outputs in DIR: vmlinuz, initrd.img, disk.img (plus bin/ and staging dirs).
# Idempotent: every step is skipped when its outputs are newer than its inputs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/build/guest
CACHE=$ROOT/third_party/cache
while [ $# -gt 0 ]; do
    case $1 in
        --out) OUT=$2; shift 2 ;;
        --cache) CACHE=$2; shift 2 ;;
        --disk-name) DISK_NAME=$2; shift 2 ;;
        --disk-kernel) DISK_KERNEL=$(realpath "$2"); shift 2 ;;
        --disk-append) DISK_APPEND=$2; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "build-guest: unknown argument '$1'" >&2; exit 64 ;;
    esac
done
mkdir -p "$OUT" "$CACHE"
OUT=$(cd "$OUT" && pwd)
CACHE=$(cd "$CACHE" && pwd)

# fdisk, dosfstools and kmod install into /sbin, which is not on a normal user's PATH.
export PATH=$PATH:/usr/sbin:/sbin
export MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=1

SRC=$ROOT/tools/guest
SELF=$SRC/build-guest.sh
HDR=$ROOT/include/thinvisor/hypercall.h
BUSYBOX=${BUSYBOX:-/bin/busybox}
MBR_BIN=/usr/lib/syslinux/mbr/mbr.bin

# Kernel modules in the initramfs (with their dependencies) and those loaded at boot
# (efivarfs is for UEFI boots: `modprobe efivarfs`, then mount it on /sys/firmware/efi/efivars;
# sr_mod and isofs for the CD-ROM tests: `modprobe sr_mod isofs`, then mount /dev/sr0; xhci_pci,
# usb_storage, usbhid and hid_generic for the USB scenario: `modprobe xhci_pci usb_storage usbhid`; ehci_pci
# for the EHCI one).
MODULES="qemu_fw_cfg msr ata_piix ahci sd_mod e1000 aoe vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859_1 efivarfs sr_mod isofs xhci_pci ehci_pci usb_storage usbhid hid_generic"
BOOT_MODULES="qemu_fw_cfg msr ata_piix ahci sd_mod e1000 vfat nls_cp437 nls_ascii nls_utf8 nls_iso8859_1"
KERNEL_CMDLINE="console=tty0 console=ttyS0,115200 panic=-1"

DISK_MIB=64
PART_START=2048 # sectors

log() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

# needs OUTPUT INPUT...: true when OUTPUT is missing or older than any INPUT.
needs() {
    local out=$1; shift
    [ -e "$out" ] || return 0
    local in
    for in in "$@"; do
        [ "$in" -nt "$out" ] && return 0
    done
    return 1
}

for tool in apt-get apt-cache dpkg-deb depmod modprobe cpio gzip gcc sfdisk mkfs.fat mcopy \
            syslinux dd truncate; do
    command -v "$tool" >/dev/null || die "'$tool' not found (see mk/packages.txt)"
done
[ -x "$BUSYBOX" ] || die "$BUSYBOX not found (package busybox-static)"
if LC_ALL=C readelf -l "$BUSYBOX" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    die "$BUSYBOX is dynamically linked; install busybox-static"
fi
[ -f "$MBR_BIN" ] || die "$MBR_BIN not found (package syslinux-common)"

# ---------------------------------------------------------------------------------------
# 1. Kernel package: apt-get download into the cache (never into build/).
apt_as_root=()
[ "$(id -u)" = 0 ] && apt_as_root=(-o APT::Sandbox::User=root) # else apt warns about _apt

resolve_kernel_pkg() {
    if [ -n "${GUEST_KERNEL_PKG:-}" ]; then
        echo "$GUEST_KERNEL_PKG"
        return
    fi
    apt-cache depends linux-image-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}

cached_deb() { # highest version of the cached debs matching glob $1, or nothing
    # (version order, not mtime: apt may give a download the server's date)
    find "$CACHE" -maxdepth 1 -name "$1_*_amd64.deb" 2>/dev/null | sort -V | tail -n1
}

apt_download() { # apt_download PKG: into $CACHE; on failure (stale lists) update and retry
    (cd "$CACHE" && apt-get "${apt_as_root[@]}" download "$1" >&2) && return 0
    [ "$(id -u)" = 0 ] || die "apt-get download $1 failed (try 'apt-get update')"
    log "download failed: running apt-get update and retrying"
    apt-get update -qq >&2
    (cd "$CACHE" && apt-get "${apt_as_root[@]}" download "$1" >&2) ||
        die "apt-get download $1 failed"
}

fetch_kernel_deb() { # prints the path of the kernel .deb in the cache
    local pkg ver deb newest
    newest=$(cached_deb 'linux-image-*-amd64')
    # A cached kernel is used as it is (fast, and the guest does not change under you)
    # unless a package is pinned or GUEST_KERNEL_UPDATE=1 asks for the current candidate.
    if [ -n "$newest" ] && [ -z "${GUEST_KERNEL_PKG:-}" ] && [ "${GUEST_KERNEL_UPDATE:-0}" = 0 ]; then
        echo "$newest"
        return
    fi
    pkg=$(resolve_kernel_pkg)
    if [ -z "$pkg" ]; then
        # No package lists (fresh machine) or offline: use a cached kernel if there is one.
        [ -n "$newest" ] && { echo "$newest"; return; }
        [ "$(id -u)" = 0 ] || die "apt cannot resolve linux-image-amd64: run 'apt-get update'"
        log "apt knows no linux-image-amd64: running apt-get update"
        apt-get update -qq >&2
        pkg=$(resolve_kernel_pkg)
        [ -n "$pkg" ] || die "apt cannot resolve linux-image-amd64"
    fi
    ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    if [ -n "$ver" ] && [ "$ver" != "(none)" ]; then
        deb="$CACHE/${pkg}_${ver//:/%3a}_amd64.deb"
    else
        deb=$(cached_deb "$pkg")
    fi
    if [ -z "$deb" ] || [ ! -f "$deb" ]; then
        log "downloading $pkg${ver:+ $ver} into $CACHE"
        apt_download "$pkg"
        deb=$(cached_deb "$pkg")
        [ -n "$deb" ] || die "apt-get download $pkg left no .deb in $CACHE"
    fi
    echo "$deb"
}

KDEB=$(fetch_kernel_deb)
log "kernel package: $(basename "$KDEB")"

# ---------------------------------------------------------------------------------------
# 2. Extract the kernel, pick the modules (with dependencies) into a staging tree.
MODSTAGE=$OUT/modules          # lib/modules/<kver>/... for the initramfs
MODSTAMP=$OUT/modules.stamp    # "<kernel version> <deb name>"
# A different .deb (mtimes of downloads need not be newer) also means: extract again.
if needs "$OUT/vmlinuz" "$KDEB" "$SELF" || needs "$MODSTAMP" "$KDEB" "$SELF" ||
   [ "$(cut -d' ' -f2 "$MODSTAMP" 2>/dev/null || true)" != "$(basename "$KDEB")" ]; then
    log "extracting $(basename "$KDEB")"
    KX=$OUT/kernel-extract
    rm -rf "$KX" "$MODSTAGE"
    mkdir -p "$KX"
    dpkg-deb -x "$KDEB" "$KX"
    kimg=$(find "$KX/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n1)
    [ -f "$kimg" ] || die "no vmlinuz in $KDEB"
    KVER=${kimg##*/vmlinuz-}
    # Debian 12 puts modules in /lib/modules (usrmerge may move them to /usr/lib/modules).
    if [ -d "$KX/lib/modules/$KVER" ]; then kmods=lib/modules/$KVER
    elif [ -d "$KX/usr/lib/modules/$KVER" ]; then
        mkdir -p "$KX/lib/modules"; ln -s "../../usr/lib/modules/$KVER" "$KX/lib/modules/$KVER"
        kmods=lib/modules/$KVER
    else die "no modules for $KVER in $KDEB"; fi
    depmod -b "$KX" "$KVER"
    mkdir -p "$MODSTAGE/lib/modules/$KVER"
    for m in $MODULES; do
        deps=$(modprobe -d "$KX" -S "$KVER" --show-depends "$m") ||
            die "module $m not found in $KVER"
        echo "$deps" | while read -r kind path _; do
            [ "$kind" = insmod ] || continue # "builtin X" lines need nothing
            rel=${path#"$KX"/}
            rel=lib/modules/$KVER/${rel#*/modules/"$KVER"/}
            dst=$MODSTAGE/${rel%.xz}; dst=${dst%.zst}; dst=${dst%.gz}
            [ -f "$dst" ] && continue
            mkdir -p "$(dirname "$dst")"
            case $path in
                *.ko.xz) xz -dc "$path" > "$dst" ;;
                *.ko.zst) zstd -qdc "$path" > "$dst" ;;
                *.ko.gz) gzip -dc "$path" > "$dst" ;;
                *) cp "$path" "$dst" ;;
            esac
        done
    done
    for f in modules.builtin modules.builtin.modinfo modules.order; do
        if [ -f "$KX/$kmods/$f" ]; then cp "$KX/$kmods/$f" "$MODSTAGE/lib/modules/$KVER/"; fi
    done
    depmod -b "$MODSTAGE" "$KVER"
    cp "$kimg" "$OUT/vmlinuz.tmp" && mv "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
    rm -rf "$KX"
    echo "$KVER $(basename "$KDEB")" > "$MODSTAMP"
    log "kernel $KVER, $(find "$MODSTAGE" -name '*.ko' | wc -l) modules staged"
fi
KVER=$(cut -d' ' -f1 "$MODSTAMP")

# ---------------------------------------------------------------------------------------
# 3. Static guest tools.
mkdir -p "$OUT/bin"
for t in thinvisor-ctl memprobe cpuprobe atacmd xmmcheck; do
    if needs "$OUT/bin/$t" "$SRC/$t.c" "$HDR" "$ROOT/include/thinvisor/vpn_codes.h" "$SELF"; then
        log "compiling $t"
        gcc -static -O2 -Wall -Wextra -I"$ROOT/include" -o "$OUT/bin/$t.tmp" "$SRC/$t.c"
        strip "$OUT/bin/$t.tmp" 2>/dev/null || true
        mv "$OUT/bin/$t.tmp" "$OUT/bin/$t"
    fi
done
"$SRC/build-attack.sh" "$OUT/bin"  # tvattack, the attack suite's hostile program

# ---------------------------------------------------------------------------------------
# 4. Initramfs: busybox + /init + tools + modules, newc cpio, gzip.
if needs "$OUT/initrd.img" "$SRC/init" "$BUSYBOX" "$OUT/bin/thinvisor-ctl" "$OUT/bin/memprobe" \
         "$OUT/bin/cpuprobe" "$OUT/bin/atacmd" "$OUT/bin/xmmcheck" "$OUT/bin/tvattack" "$MODSTAMP" "$SELF"; then
    log "building initrd.img"
    R=$OUT/initramfs
    rm -rf "$R"
    mkdir -p "$R"/{bin,dev,etc,proc,sys,tmp,root,mnt,lib}
    ln -s bin "$R/sbin"
    mkdir -p "$R/usr"
    ln -s ../bin "$R/usr/bin"
    ln -s ../bin "$R/usr/sbin"
    cp "$BUSYBOX" "$R/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || [ -e "$R/bin/$applet" ] || ln -s busybox "$R/bin/$applet"
    done
    cp "$OUT/bin/thinvisor-ctl" "$OUT/bin/memprobe" "$OUT/bin/cpuprobe" "$OUT/bin/atacmd" "$OUT/bin/xmmcheck" "$OUT/bin/tvattack" "$R/bin/"
    cp -a "$MODSTAGE/lib/modules" "$R/lib/"
    install -m 0755 "$SRC/init" "$R/init"
    echo "$BOOT_MODULES" > "$R/etc/boot-modules"
    echo "root:x:0:0:root:/root:/bin/sh" > "$R/etc/passwd"
    echo "root:x:0:" > "$R/etc/group"
    # /dev/console comes from the kernel's built-in initramfs (no mknod needed, no root).
    (cd "$R" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc --owner=0:0 --reproducible) | gzip -6 -n > "$OUT/initrd.img.tmp"
    mv "$OUT/initrd.img.tmp" "$OUT/initrd.img"
fi

# ---------------------------------------------------------------------------------------
# 5. Disk image: MBR (syslinux mbr.bin), one active FAT16 partition at sector 2048 holding
#    syslinux, the kernel and the initrd. No root, no loop devices: sfdisk, mkfs.fat and
#    syslinux all work on the image file at an offset, mtools copies the files in.
DISK_NAME=${DISK_NAME:-disk.img}
DISK_KERNEL=${DISK_KERNEL:-$OUT/vmlinuz}
DISK_APPEND=${DISK_APPEND:-$KERNEL_CMDLINE}
DISK_STAMP=$OUT/$DISK_NAME.cmdline  # a changed command line also means: build it again
if needs "$OUT/$DISK_NAME" "$DISK_KERNEL" "$OUT/initrd.img" "$MBR_BIN" "$SELF" ||
   { [ "$DISK_NAME" != disk.img ] && [ "$(cat "$DISK_STAMP" 2>/dev/null || true)" != "$DISK_APPEND" ]; }; then
    log "building $DISK_NAME (${DISK_MIB} MiB)"
    IMG=$OUT/$DISK_NAME.tmp
    rm -f "$IMG"
    truncate -s "${DISK_MIB}M" "$IMG"
    total=$((DISK_MIB * 2048))
    psize=$((total - PART_START))
    echo "start=$PART_START, size=$psize, type=e, bootable" |
        sfdisk --quiet --label dos "$IMG" >/dev/null
    mkfs.fat -F 16 -n THINVISOR -h "$PART_START" --offset="$PART_START" "$IMG" \
        $((psize / 2)) >/dev/null
    cat > "$OUT/syslinux.cfg" <<EOF
SERIAL 0 115200
PROMPT 0
TIMEOUT 0
DEFAULT linux
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img $DISK_APPEND
EOF
    mcopy -i "$IMG@@$((PART_START * 512))" "$DISK_KERNEL" ::/vmlinuz
    mcopy -i "$IMG@@$((PART_START * 512))" "$OUT/initrd.img" "$OUT/syslinux.cfg" ::/
    syslinux --offset $((PART_START * 512)) --install "$IMG"
    dd if="$MBR_BIN" of="$IMG" bs=440 count=1 conv=notrunc status=none
    mv "$IMG" "$OUT/$DISK_NAME"
    [ "$DISK_NAME" = disk.img ] || echo "$DISK_APPEND" > "$DISK_STAMP"
fi

# The command line, for direct boots: -kernel vmlinuz -initrd initrd.img -append "$(cat cmdline)"
if [ "$(cat "$OUT/cmdline" 2>/dev/null || true)" != "$KERNEL_CMDLINE" ]; then
    echo "$KERNEL_CMDLINE" > "$OUT/cmdline"
fi
log "done: $OUT/{vmlinuz,initrd.img,disk.img} (kernel $KVER)"
