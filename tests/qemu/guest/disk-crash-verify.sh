# ata_ide / ata_ahci suites, after the crash: checksum every file the killed boot wrote (the
# host runs fsck.vfat on the image afterwards; busybox has none).
mkdir -p /mnt
mount -t vfat -o ro "$PART" /mnt || { echo "TV-CHECK FAIL: mount"; exit 1; }
for f in /mnt/f*.bin; do echo "TV-FILE $(basename $f) $(sha256sum $f | cut -d' ' -f1)"; done
umount /mnt && echo "TV-CHECK ok: unmounted"
