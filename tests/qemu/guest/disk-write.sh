# ata_ide / ata_ahci suites, first boot (the guest booted from the encrypted disk): write
# SIZE_MB MiB of random data behind MARKER into the data partition PART, print its checksum,
# sync. PART, MARKER and SIZE_MB come first.
mkdir -p /mnt
mount -t vfat "$PART" /mnt || { echo "TV-CHECK FAIL: mount"; dmesg | tail -20; exit 1; }
echo "TV-CHECK ok: mount"
printf '%s\n' "$MARKER" > /mnt/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >> /mnt/data.bin
sync
echo "TV-SHA $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt && echo "TV-CHECK ok: written"
# Raw sectors behind the data partition, where thinvisor.conf has plaintext ranges (PLAIN_BASE
# + 5..16 and + 32; _ata_suite.py): sector i says TVPLAIN-i. One direct write of all 48
# sectors spans encrypted, plaintext and encrypted sectors; two more start on a range's last
# sector. Everything must read back as written (the host checks the raw image).
if [ -n "${PLAIN_BASE:-}" ]; then
    : > /tmp/plain.bin
    i=0
    while [ $i -lt 48 ]; do
        printf 'TVPLAIN-%03d' $i | dd bs=512 conv=sync 2>/dev/null >> /tmp/plain.bin
        i=$((i + 1))
    done
    put() {  # put FIRST COUNT: sectors FIRST.. of plain.bin to PLAIN_BASE+FIRST, one request
        dd if=/tmp/plain.bin of=/dev/sda bs=$(($2 * 512)) count=1 iflag=skip_bytes oflag=direct,seek_bytes \
            skip=$(($1 * 512)) seek=$(((PLAIN_BASE + $1) * 512)) 2>/dev/null
    }
    get() {  # get FIRST COUNT: the same sectors read back directly, one request
        dd if=/dev/sda bs=$(($2 * 512)) count=1 iflag=direct,skip_bytes skip=$(((PLAIN_BASE + $1) * 512)) 2>/dev/null
    }
    want() { dd if=/tmp/plain.bin bs=512 skip=$1 count=$2 2>/dev/null; }
    put 0 48 && put 16 8 && put 32 3 || echo "TV-PLAIN FAIL: write"
    ok=1
    for r in "0 48" "16 4" "32 2" "4 2"; do
        set -- $r
        [ "$(get $1 $2 | sha256sum)" = "$(want $1 $2 | sha256sum)" ] || { ok=0; echo "TV-PLAIN FAIL: read $r"; }
    done
    [ $ok = 1 ] && echo "TV-PLAIN ok"
fi
