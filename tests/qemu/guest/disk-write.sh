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
