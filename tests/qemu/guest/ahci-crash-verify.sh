# ata_ahci suite, after the crash: checksum every file the crashed boot wrote.
mkdir -p /mnt
mount -t vfat -o ro /dev/sda1 /mnt || { echo "TV-CHECK FAIL: mount"; exit 1; }
for f in /mnt/f*.bin; do echo "TV-FILE $(basename $f) $(sha256sum $f | cut -d' ' -f1)"; done
umount /mnt
