# Guest script for UEFI boots (tests/suites/uefi.py): the firmware facts the OS must still
# see under thinvisor. tests/suites/uefi.py runs monitor-checks.sh right after this one.
# Prints "TV-CHECK ok: NAME" or "TV-CHECK FAIL: NAME ..." lines.

if [ -d /sys/firmware/efi ] && [ -e /sys/firmware/efi/systab ]; then
    echo "TV-CHECK ok: efi-booted"
else
    echo "TV-CHECK FAIL: efi-booted: no /sys/firmware/efi (the kernel did not come up through UEFI)"
fi

# Runtime services after ExitBootServices and the kernel's SetVirtualAddressMap: list the
# variables and read one (GetNextVariableName, GetVariable).
modprobe efivarfs 2>/dev/null
mount -t efivarfs efivarfs /sys/firmware/efi/efivars 2>/dev/null
echo "=== ls /sys/firmware/efi/efivars | head"
ls /sys/firmware/efi/efivars | head
n=$(ls /sys/firmware/efi/efivars 2>/dev/null | wc -l)
order=$(ls /sys/firmware/efi/efivars 2>/dev/null | grep '^BootOrder-' | head -n1)
if [ "$n" -gt 0 ] && [ -n "$order" ] && od -An -tx1 "/sys/firmware/efi/efivars/$order" | grep -q .; then
    echo "TV-CHECK ok: efi-runtime-variables ($n variables, BootOrder readable)"
else
    echo "TV-CHECK FAIL: efi-runtime-variables: $n variables listed, BootOrder '$order' not readable"
fi

# The monitor's region lies inside one reserved range of the firmware's map (the kernel's
# e820 table comes from the UEFI memory map, so this is the firmware's doing, not an edit).
if r=$(thinvisor-ctl range) && [ -n "$r" ]; then
    set -- $r
    base=$(($1))
    end=$(($1 + $2))
    inside=$(grep -E '^[0-9a-f]+-[0-9a-f]+ : Reserved$' /proc/iomem | while read -r rng rest; do
        s=$((0x${rng%-*}))
        e=$((0x${rng#*-} + 1))
        if [ $((s <= base && end <= e)) = 1 ]; then echo "$rng"; fi
    done)
    if [ -n "$inside" ]; then
        echo "TV-CHECK ok: efi-map-reserves-monitor ($inside)"
    else
        echo "TV-CHECK FAIL: efi-map-reserves-monitor: no Reserved range of /proc/iomem holds $1+$2"
    fi
else
    echo "TV-CHECK FAIL: efi-map-reserves-monitor: thinvisor-ctl range failed"
fi
