# ata_ahci suite, second boot: checksum the file written before (page cache is cold), show
# that IDENTIFY reaches the guest unchanged, and that a refused command fails cleanly.
mkdir -p /mnt
mount -t vfat -o ro /dev/sda1 /mnt || { echo "TV-CHECK FAIL: mount"; dmesg | tail -20; exit 1; }
echo "TV-SHA $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
atacmd identify /dev/sda
echo "TV-VPD80 $(tr -d '\000-\037' < /sys/block/sda/device/vpd_pg80 2>/dev/null)"
idp=$(sed -n 5p /sys/bus/pci/devices/0000:00:1f.2/resource | cut -d' ' -f1)
atacmd idp-clb $idp
atacmd security-erase /dev/sda
echo "TV-ERASE-STATUS $?"
echo 3 > /proc/sys/vm/drop_caches
echo "TV-SHA-AFTER $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt
