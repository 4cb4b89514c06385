// lwIP's system hooks for the monitor (lib/config/netstack/arch/cc.h declares them).
#include <stdarg.h>
#include <stdio.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/panic.hpp"
#include "lwip/arch.h"
#include "lwip/sys.h"

extern "C" {

u32_t sys_now(void) { return static_cast<u32_t>(tv::clock_us() / 1000); }

// lwIP runs only from the monitor clock's tick (core/timer.hpp) on the CPU that owns the port,
// with interrupts off, and never from an interrupt handler: there is nothing to exclude.
sys_prot_t sys_arch_protect(void) { return 0; }
void sys_arch_unprotect(sys_prot_t) {}

// DHCP transaction ids, ephemeral ports, IP ids: unpredictable enough from the TSC mixed
// through xorshift; not for cryptography.
unsigned int lwip_port_rand(void) {
    static constinit tv::u64 state = 0;
    tv::u32 lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    state ^= (static_cast<tv::u64>(hi) << 32 | lo) * 0x9E3779B97F4A7C15ull;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return static_cast<unsigned int>(state >> 32);
}

void lwip_port_diag(const char* fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tv::log("lwip: %s", buf);
}

// An lwIP assertion means its state is broken: continuing could corrupt the guest's frames.
void lwip_port_assert(const char* msg, const char* file, int line) {
    tv::panic("lwip: assertion \"%s\" failed at %s:%d", msg, file, line);
}

}  // extern "C"
