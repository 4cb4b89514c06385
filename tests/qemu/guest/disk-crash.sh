# ata_ide / ata_ahci suites, crash boot: 1 MiB files of random data written with fsync one
# after the other, each announced after fsync returned; the host kills QEMU in the middle.
mkdir -p /mnt
mount -t vfat "$PART" /mnt || { echo "TV-CHECK FAIL: mount"; exit 1; }
i=0
while [ $i -lt 200 ]; do
    dd if=/dev/urandom of=/mnt/f$i.bin bs=1M count=1 conv=fsync 2>/dev/null
    sync  # the directory entry too
    echo "TV-FSYNCED f$i.bin $(sha256sum /mnt/f$i.bin | cut -d' ' -f1)"
    i=$((i + 1))
done
