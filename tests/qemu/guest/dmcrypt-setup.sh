# The disk benches' dm-crypt peer (prepended to ahci-bench.sh / ata-bench.sh when DMCRYPT=1):
# the bundle tools/guest/build-dmcrypt-bundle.sh made arrives by fw_cfg; its modules are
# loaded in order and dmsetup maps the disk with aes-xts-plain64, a random 512-bit key and
# 512-byte sectors, as `cryptsetup open --type plain -c aes-xts-plain64 -s 512` would.
# dmcrypt_setup NAME prints the mapped device (or nothing on failure).
dmcrypt_setup() {
    b=/tmp/dmb
    mkdir -p $b
    (cd $b && gunzip -c /sys/firmware/qemu_fw_cfg/by_name/opt/thinvisor/dmcrypt/raw | cpio -id 2>/dev/null)
    for m in $(ls $b/dm/mods | sort); do insmod $b/dm/mods/$m 2>/dev/null; done
    key=$(head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n')
    sectors=$(cat /sys/block/$1/size)
    $b/dm/ld.so --library-path $b/dm/lib $b/dm/bin/dmsetup --noudevsync --noudevrules create tvbench \
        --table "0 $sectors crypt aes-xts-plain64 $key 0 /dev/$1 0" >&2 || return
    [ -b /dev/mapper/tvbench ] || $b/dm/ld.so --library-path $b/dm/lib $b/dm/bin/dmsetup mknodes >&2
    echo "TV-BENCH-DMCRYPT $($b/dm/ld.so --library-path $b/dm/lib $b/dm/bin/dmsetup table tvbench | awk '{ print $3, $4, "key-bits=" length($5) * 4, $NF }')" >&2
    [ -b /dev/mapper/tvbench ] && echo /dev/mapper/tvbench
}
