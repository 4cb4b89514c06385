# ata_ide suite, second boot: checksum the file written before (cold cache), show that
# IDENTIFY reaches the guest unchanged and that refused commands fail cleanly, then read the
# file again to show the disk still works.
mkdir -p /mnt
mount -t vfat -o ro /dev/sda2 /mnt || { echo "TV-CHECK FAIL: mount"; dmesg | tail -20; exit 1; }
echo "TV-SHA $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
atacmd identify /dev/sda
echo "TV-VPD80 $(tail -c +5 /sys/block/sda/device/vpd_pg80 2>/dev/null | tr -d ' \000')"
atacmd security-erase /dev/sda
echo "TV-ERASE-STATUS $?"
echo 3 > /proc/sys/vm/drop_caches
echo "TV-SHA-AFTER $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt
