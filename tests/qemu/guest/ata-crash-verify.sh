# ata_ide suite, after the crash: checksum every file the killed boot wrote; busybox has no
# fsck.vfat, so the file system is judged by mounting it and reading every file.
mkdir -p /mnt
mount -t vfat -o ro /dev/sda2 /mnt || { echo "TV-CHECK FAIL: mount"; exit 1; }
for f in /mnt/f*.bin; do echo "TV-FILE $(basename $f) $(sha256sum $f | cut -d' ' -f1)"; done
umount /mnt && echo "TV-CHECK ok: unmounted"
