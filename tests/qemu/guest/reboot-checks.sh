# Guest script for the reboot scenarios: the guest asks for a reset; the monitor must log it
# and let it reach the machine (QEMU runs with -no-reboot, so the reset ends the run).
echo "TV-CHECK ok: rebooting"
reboot -f
sleep 30
echo "TV-CHECK FAIL: reboot: the guest is still running 30 s after reboot -f"
poweroff -f
