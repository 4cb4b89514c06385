/* void tv_idle_halt(u8 const* asleep)
 * Halts until an NMI unless *asleep is already 0. The NMI that wakes the CPU may arrive
 * between the test and the HLT; the host NMI handler then moves the saved RIP from inside
 * [tv_idle_window, tv_idle_hlt] to tv_idle_out, so the wake-up cannot be slept through
 * (descriptors.cpp). Interrupts stay masked: only an NMI ends the wait. */
    .text
    .global tv_idle_halt, tv_idle_window, tv_idle_hlt, tv_idle_out
tv_idle_halt:
tv_idle_window:
    cmpb $0, (%rdi)
    je tv_idle_out
tv_idle_hlt:
    hlt
tv_idle_out:
    ret
