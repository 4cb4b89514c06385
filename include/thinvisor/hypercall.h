/* thinvisor hypercall ABI, shared by the monitor and guest-side tools (C and C++).
 *
 * A guest issues VMMCALL (AMD, bytes 0f 01 d9) or VMCALL (Intel, bytes 0f 01 c1) with
 * RAX = TV_HC_MAGIC | function. Arguments go in RBX, RCX, RDX; results come back in RAX
 * (a tv_hc_status) and data in RBX, RCX, RDX, RSI. Data travels in registers only, so the
 * monitor never has to write into guest memory on behalf of a (possibly hostile) caller.
 * Every function here is read-only.
 *
 * Who may call (docs/security.md, "Hypercalls"): the instruction at CPL 0 may call every
 * function; at CPL 1-3 only TV_HC_INFO and TV_HC_COUNTER, the others answer
 * TV_HC_ERR_DENIED. The guest kernel can hand the rest to a process it trusts through the
 * hypercall port: an `outb %al, %dx` with DX = TV_HC_PORT and RAX, RBX, RCX as for the
 * instruction (RDX holds the port, so no function takes an argument there) is the same call,
 * answered in the same registers. The CPU checks the guest's I/O permission (IOPL and the
 * TSS bitmap; Linux: ioperm/iopl, root only) before the access reaches the monitor.
 */
#ifndef THINVISOR_HYPERCALL_H
#define THINVISOR_HYPERCALL_H

#define TV_HC_MAGIC 0x7476000000000000ull /* 'tv' in the top bytes of RAX */
#define TV_HC_MAGIC_MASK 0xffff000000000000ull
#define TV_HC_PORT 0x0ee0 /* the hypercall port (see above); reads return 0xff */

enum tv_hc_function {
    /* RBX = ABI version (1), RCX = 8 bytes of "thinviso", RDX = number of exit counters. */
    TV_HC_INFO = 1,
    /* RBX = counter index. Returns RBX = count, RCX/RDX = the counter's name as up to 16
     * ASCII bytes (little-endian, NUL padded). TV_HC_ERR_RANGE past the last counter.
     * Indexes below INFO's RDX are exit counters (by reason, plus a few events); from RDX on
     * come device counters (names with a '.', e.g. "ahci.px.ci.w": a mediator's own counts,
     * not exits), up to the first TV_HC_ERR_RANGE. */
    TV_HC_COUNTER = 2,
    /* Returns RBX = total bytes ever written to the log ring, RCX = ring capacity. */
    TV_HC_LOG_STATE = 3,
    /* RBX = absolute log offset. Returns RBX = number of bytes (0..32) copied into
     * RCX, RDX, RSI, RDI (little-endian byte order). Offsets that were overwritten return
     * TV_HC_ERR_RANGE with RBX = the oldest offset still available. */
    TV_HC_LOG_READ = 4,
    /* Returns RBX = base, RCX = size in bytes of the physical range the monitor reserved
     * for itself (hidden from the guest: not System RAM, reads zero, writes dropped). */
    TV_HC_MONITOR_RANGE = 5,
};

enum tv_hc_status {
    TV_HC_OK = 0,
    TV_HC_ERR_UNKNOWN = 1, /* no such function */
    TV_HC_ERR_RANGE = 2,   /* index or offset out of range */
    TV_HC_ERR_DENIED = 3,  /* not for this caller: user mode, use the hypercall port */
};

#endif
