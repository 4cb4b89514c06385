# Guest script for `make run`: show thinvisor from inside the guest, then give a shell.
# /init powers the machine off when the shell exits.
echo "=== thinvisor-ctl info"
thinvisor-ctl info
echo "=== thinvisor-ctl range (the monitor's own memory, hidden from this guest)"
thinvisor-ctl range
echo "=== thinvisor-ctl counters"
thinvisor-ctl counters
echo
echo "Try: thinvisor-ctl counters; thinvisor-ctl log; cat /proc/iomem; memprobe BASE SIZE"
echo "Type 'exit' (or Ctrl-D) to power off."
setsid cttyhack sh
