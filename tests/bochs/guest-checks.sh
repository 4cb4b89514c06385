# Guest checks for the Bochs (VT-x) runs, put in front of tests/qemu/guest/monitor-checks.sh
# (which follows and powers off). Same report format: "TV-CHECK ok: NAME" / "TV-CHECK FAIL: ...".

# The guest must not see VMX: CPUID hides it, so the kernel lists no "vmx" flag.
if grep -qw vmx /proc/cpuinfo; then
    echo "TV-CHECK FAIL: vmx-hidden: /proc/cpuinfo lists the vmx flag"
else
    echo "TV-CHECK ok: vmx-hidden"
fi
