# ata_ahci suite, first boot: the guest booted from the encrypted disk; write a file of random
# data with a marker into the FAT partition, print its checksum, sync. SIZE_MB comes first.
mkdir -p /mnt
mount -t vfat /dev/sda1 /mnt || { echo "TV-CHECK FAIL: mount"; dmesg | tail -20; exit 1; }
echo "TV-CHECK ok: mount"
printf 'TVAHCIMARKER-plaintext-must-not-reach-the-disk\n' > /mnt/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >> /mnt/data.bin
sync
echo "TV-SHA $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt && echo "TV-CHECK ok: written"
