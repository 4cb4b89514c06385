# ata_ide / ata_ahci suites, second boot: checksum the file written before (cold cache), show
# that IDENTIFY reaches the guest unchanged and that a refused command fails cleanly, then read
# the file again to show the disk still works. On AHCI, also read PxCLB through the
# index-data pair of I/O BAR5 (it must show the guest's value, not the monitor's shadow).
mkdir -p /mnt
mount -t vfat -o ro "$PART" /mnt || { echo "TV-CHECK FAIL: mount"; dmesg | tail -20; exit 1; }
echo "TV-SHA $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
atacmd identify /dev/sda
echo "TV-VPD80 $(tail -c +5 /sys/block/sda/device/vpd_pg80 2>/dev/null | tr -d ' \000')"
if [ "$CONTROLLER" = ahci ]; then
    idp=$(sed -n 5p /sys/bus/pci/devices/0000:00:1f.2/resource | cut -d' ' -f1)
    atacmd idp-clb $idp
fi
atacmd security-erase /dev/sda
echo "TV-ERASE-STATUS $?"
echo 3 > /proc/sys/vm/drop_caches
echo "TV-SHA-AFTER $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt
