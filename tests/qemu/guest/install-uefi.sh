# Guest script for tests/suites/install_uefi.py: the installed Debian system on the test disk
# (tests/install/uefi_image.py: ESP on sda1, ext4 root on sda2) is mounted and entered with
# chroot, and the package is handled there as an administrator would. TV_PHASE, set by the
# suite in a line before this file, says which boot this is:
#   install    the first boot (no monitor): register Debian's GRUB with efibootmgr as
#              grub-install does, then `dpkg -i` the package (its postinst: thinvisor-boot enable)
#              and `thinvisor-boot enable` once more, as after editing /etc/thinvisor; then
#              Debian's entry is put first (as a later grub-install does): status and enable
#   installed  the boot under the monitor: add an entry and reorder the others, then
#              `dpkg --purge` the package (its prerm runs thinvisor-boot disable), then delete
#              the added entry again; the suite appends
#              uefi-checks.sh and monitor-checks.sh
#   purged     the boot after the purge; the suite appends bare-checks.sh
# Prints "TV-..." lines that the suite reads; every step's outcome is printed, nothing stops.

S=/sysroot
# The system's own /bin/sh (dash) finds the command: busybox's chroot would run its own
# applet of that name (its dpkg) instead of the system's program.
in_system() { chroot $S /bin/sh -c 'PATH=/usr/sbin:/usr/bin:/sbin:/bin; export PATH; exec "$@"' in_system "$@"; }
efi_state() { # TV-BOOTORDER WHEN: ORDER, then the entries (efibootmgr -v) as TV-EFI lines
    echo "TV-BOOTORDER $1: $(in_system efibootmgr | sed -n 's/^BootOrder: *//p')"
    in_system efibootmgr -v | sed 's/^/TV-EFI /'
    echo "TV-ESP $1: $(ls $S/boot/efi/EFI | tr '\n' ' ')"
}

modprobe efivarfs
modprobe crc32c_generic
modprobe ext4 || echo "TV-CHECK FAIL: system-mounted: modprobe ext4 failed"
mkdir -p $S
if mount -t ext4 /dev/sda2 $S && mount -t vfat -o umask=0077 /dev/sda1 $S/boot/efi &&
   mount -t proc proc $S/proc && mount -t sysfs sysfs $S/sys &&
   mount -t efivarfs efivarfs $S/sys/firmware/efi/efivars && mount --bind /dev $S/dev &&
   mount -t tmpfs tmpfs $S/tmp && mount -t tmpfs tmpfs $S/run; then
    echo "TV-CHECK ok: system-mounted"
else
    echo "TV-CHECK FAIL: system-mounted: $(cat /proc/mounts | grep $S)"
fi

case $TV_PHASE in
install)
    # Debian's installer ran grub-install, which registers its loader first in BootOrder.
    in_system efibootmgr -q -c -d /dev/sda -p 1 -L debian -l '\EFI\debian\grubx64.efi'
    echo "TV-STEP register-debian status $?"
    efi_state before
    in_system dpkg -i /root/thinvisor.deb
    echo "TV-STEP dpkg-install status $?"
    efi_state installed
    echo "TV-LOADER-CONF: $(tr '\n' ';' < $S/boot/efi/EFI/thinvisor/loader.conf)"
    echo "TV-SAVED-ORDER: $(cat $S/var/lib/thinvisor/bootorder)"
    # docs/install.md: run enable again after editing /etc/thinvisor. thinvisor's own entry is
    # first now; the loader must still chain to Debian's.
    in_system thinvisor-boot enable
    echo "TV-STEP re-enable status $?"
    echo "TV-BOOTORDER re-enabled: $(in_system efibootmgr | sed -n 's/^BootOrder: *//p')"
    echo "TV-ENTRIES re-enabled: $(in_system efibootmgr | grep -c ' thinvisor$')"
    echo "TV-LOADER-CONF re-enabled: $(tr '\n' ';' < $S/boot/efi/EFI/thinvisor/loader.conf)"
    # A later grub-install (Debian runs it when grub-efi is upgraded) puts Debian's entry first
    # again: status must say so, and enable must put thinvisor's entry first once more.
    order=$(in_system efibootmgr | sed -n 's/^BootOrder: *//p')
    rest=${order#*,}
    in_system efibootmgr -q -o "${rest%%,*},${order%%,*},${rest#*,}"
    echo "TV-STATUS displaced: $(in_system thinvisor-boot status | grep '^enabled')"
    in_system thinvisor-boot enable
    echo "TV-STEP enable-displaced status $?"
    echo "TV-STATUS restored: $(in_system thinvisor-boot status | grep '^enabled')"
    echo "TV-BOOTORDER restored: $(in_system efibootmgr | sed -n 's/^BootOrder: *//p')"
    ;;
installed)
    thinvisor-ctl info
    echo "thinvisor-ctl info exit status: $?"
    # While the package is installed another entry is added (an OS installed beside) and the
    # others are reordered (a firmware setup menu, say: Debian's entry moves to the end). The
    # purge must restore the saved order and keep the new entry, after the old ones.
    in_system efibootmgr -q -c -d /dev/sda -p 1 -L other -l '\EFI\BOOT\BOOTX64.EFI'
    other=$(in_system efibootmgr | sed -n 's/^Boot\([0-9A-F]\{4\}\)[* ] other$/\1/p')
    echo "TV-OTHER-ENTRY: $other"
    order=$(in_system efibootmgr | sed -n 's/^BootOrder: *//p' | tr ',' '\n' | grep -vx "$other" | paste -sd, -)
    rest=${order#*,}
    in_system efibootmgr -q -o "${order%%,*},${rest#*,},${rest%%,*},$other"
    echo "TV-BOOTORDER reordered: $(in_system efibootmgr | sed -n 's/^BootOrder: *//p')"
    in_system dpkg --purge thinvisor
    echo "TV-STEP dpkg-purge status $?"
    efi_state purged
    in_system efibootmgr -q -b "$other" -B
    echo "TV-BOOTORDER without-other: $(in_system efibootmgr | sed -n 's/^BootOrder: *//p')"
    echo "TV-LEFT: $(ls -d $S/etc/thinvisor $S/var/lib/thinvisor $S/boot/thinvisor $S/usr/lib/thinvisor 2>/dev/null)"
    ;;
purged)
    efi_state after-purge
    echo "TV-DPKG-STATUS: $(in_system dpkg-query -W -f '${Status}' thinvisor 2>&1)"
    ;;
esac

for m in run tmp dev sys/firmware/efi/efivars sys proc boot/efi; do umount $S/$m; done
sync
umount $S && echo "TV-CHECK ok: system-unmounted" || echo "TV-CHECK FAIL: system-unmounted: $(grep $S /proc/mounts)"
