# Guest script for the bare-boot scenario (no monitor): runs under busybox sh in the
# test guest's initramfs; /init powers off afterwards.
echo "TV-CHECK ok: bare"
thinvisor-ctl info
echo "thinvisor-ctl info exit status: $?"
poweroff -f
