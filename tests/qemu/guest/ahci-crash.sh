# ata_ahci suite, crash boot: write 1 MiB files of random data with fsync, one after the
# other, announcing each after fsync returned; the host kills QEMU in the middle of this.
mkdir -p /mnt
mount -t vfat /dev/sda1 /mnt || { echo "TV-CHECK FAIL: mount"; exit 1; }
rm -f /mnt/f*.bin
sync
i=0
while [ $i -lt 200 ]; do
    dd if=/dev/urandom of=/mnt/f$i.bin bs=1M count=1 conv=fsync 2>/dev/null
    sync  # the directory entry too
    echo "TV-FSYNCED f$i.bin $(sha256sum /mnt/f$i.bin | cut -d' ' -f1)"
    i=$((i + 1))
done
