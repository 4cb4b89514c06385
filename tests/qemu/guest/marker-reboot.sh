# Guest script for install_bios's reset-clears-planted-marker check (issue 19, docs/install.md):
# a root guest under the monitor plants the boot-chain marker ("TVB1", the dword 0x31425654 at
# 0000:04F0) and resets the machine. The monitor must clear the marker before the reset reaches
# the machine, or a BIOS that keeps the area would let GRUB boot this OS unprotected. QEMU runs
# with -action reboot=shutdown,shutdown=pause: the host reads 0x4F0 at the reset itself.
devmem 0x4f0 32 0x31425654
echo "TV-MARKER planted: 0x4f0 reads $(devmem 0x4f0 32); resetting"
reboot -f
sleep 30
echo "TV-CHECK FAIL: marker: still running 30 s after reboot -f"
poweroff -f
