# atapi_cd suite: the CD-ROM on the PIIX secondary channel (QEMU pc's default place) under the
# IDE mediator. Mounts the ISO 9660 image the suite built, reads its marker and checksums its
# big file (read by ATAPI DMA), then tries to burn a block with WRITE(10) ten times (refused).
modprobe sr_mod || echo "TV-CHECK FAIL: modprobe sr_mod"
modprobe isofs || echo "TV-CHECK FAIL: modprobe isofs"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/sr0 ] && break; sleep 1; done
mkdir -p /mnt/cd
if mount -t iso9660 -o ro /dev/sr0 /mnt/cd; then
    echo "TV-CD-MARKER $(cat /mnt/cd/marker.txt)"
    echo "TV-CD-SHA $(sha256sum /mnt/cd/big.bin | cut -d' ' -f1)"
    umount /mnt/cd
else
    echo "TV-CHECK FAIL: mount /dev/sr0"
    dmesg | tail -20
fi
atacmd cd-write10 /dev/sr0
echo "TV-CD-WRITE-STATUS $?"
# Nine more: the monitor logs the first few and counts the rest (its log rate limit).
for i in 2 3 4 5 6 7 8 9 10; do atacmd cd-write10 /dev/sr0 >/dev/null; done
# The drive still reads after the refusal.
echo 3 > /proc/sys/vm/drop_caches
mount -t iso9660 -o ro /dev/sr0 /mnt/cd && echo "TV-CD-AGAIN $(cat /mnt/cd/marker.txt)" && umount /mnt/cd
dmesg | grep -i "ata2\|sr0\|scsi.*CD" | head -8
