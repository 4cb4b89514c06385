# ata_ide suite, first boot (booted from the encrypted disk through SeaBIOS's PIO reads):
# write SIZE_MB MiB of random data with a marker into the data partition (ata_piix:
# bus-master DMA), print its checksum, sync. SIZE_MB comes first.
mkdir -p /mnt
mount -t vfat /dev/sda2 /mnt || { echo "TV-CHECK FAIL: mount"; dmesg | tail -20; exit 1; }
echo "TV-CHECK ok: mount"
printf 'TVIDEMARKER-plaintext-must-not-reach-the-disk\n' > /mnt/data.bin
head -c $((SIZE_MB * 1024 * 1024)) /dev/urandom >> /mnt/data.bin
sync
echo "TV-SHA $(sha256sum /mnt/data.bin | cut -d' ' -f1)"
umount /mnt && echo "TV-CHECK ok: written"
