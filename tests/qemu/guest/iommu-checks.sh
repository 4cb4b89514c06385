# Guest script for the iommu-vtd-q35 scenario (followed by mmio-e1000.sh's network checks on the
# unmediated e1000, whose DMA goes through the IOMMU's guarded domain, and monitor-checks.sh).
# The virtio-rng (no driver in this guest) gets an INIT written into its MSI-X table entry 0
# through /dev/mem: the monitor's MSI-X guard must hand the device fixed delivery instead.
rng=""
for d in /sys/bus/pci/devices/*; do
    [ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1005 ] && rng=$d
done
rb() { od -An -tu1 -j "$1" -N 1 "$rng/config" | tr -d ' '; }
rd() { od -An -tu4 -j "$1" -N 4 "$rng/config" | tr -d ' '; }
cap=0
if [ -n "$rng" ]; then
    at=$(( $(rb 52) & 252 ))
    while [ "$at" -ge 64 ]; do
        [ "$(rb $at)" = 17 ] && cap=$at && break
        at=$(( $(rb $((at + 1))) & 252 ))
    done
fi
if [ "$cap" = 0 ] || ! command -v devmem >/dev/null; then
    echo "TV-CHECK FAIL: msix-init-refused: no virtio-rng with MSI-X, or no devmem ($rng, cap $cap)"
else
    where=$(rd $((cap + 4)))
    bir=$((where & 7))
    base=$(sed -n "$((bir + 1))p" "$rng/resource" | cut -d' ' -f1)
    data=$(( base + (where & ~7) + 8 ))
    devmem $data 32 0x531
    now=$(devmem $data 32)
    echo "msix: entry 0 data at $(printf %#x $data): wrote 0x531 (INIT), reads $now"
    if [ $(( now & 0x700 )) = 0 ]; then
        echo "TV-CHECK ok: msix-init-refused"
    else
        echo "TV-CHECK FAIL: msix-init-refused: the entry holds $now"
    fi
fi
