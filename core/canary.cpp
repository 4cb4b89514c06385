#include "core/canary.hpp"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/rdrand.hpp"
#include "core/arch/x86/serial.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"

// The page of "code": in .rodata of the image, where the monitor's constants live. The
// monitor's own tables map the image writable, so it is stamped at run time like the others.
__attribute__((section(".rodata.tv_canary"), aligned(4096))) tv::u8 g_canary_code[4096] = {1};

namespace tv {

namespace {

u8 g_data[512] = {1};  // non-zero initializer: .data, not .bss
u8 g_unit[kCanaryUnit];

struct Place {
    char const* what;
    u8 const* p;
    size_t n;
};
constexpr u32 kMaxChecked = 4;
Place g_checked[kMaxChecked];
u32 g_checked_count;


bool make_unit() {
    if (!(x86::cpuid(1).ecx & (1u << 30))) return false;
    for (size_t off = 8; off < kCanaryUnit; off += 8) {
        u64 r;
        if (!x86::rdrand64(&r)) return false;
        memcpy(g_unit + off, &r, 8);
    }
    memcpy(g_unit, "TVCANARY", 8);  // last: canary_fill stamps nothing without a random value
    return true;
}

// Heap and allocator pages are reached through the direct map, the image through the kernel
// window; the log gives the guest-physical address an attacker would aim at.
u64 phys_of(void const* p) {
    u64 const v = reinterpret_cast<u64>(p);
    return v >= kDirectMapBase && v < kKernelVma ? v - kDirectMapBase : virt_to_phys(p);
}

void stamp(void* p, size_t n) {
    u8* d = static_cast<u8*>(p);
    for (size_t i = 0; i < n; ++i) d[i] = g_unit[i % kCanaryUnit];
}

void place_checked(char const* what, void* p, size_t n) {
    if (!p) return;
    stamp(p, n);
    g_checked[g_checked_count++] = Place{what, static_cast<u8 const*>(p), n};
    log("canary: %s at %#llx (%llu bytes)", what, static_cast<unsigned long long>(phys_of(p)),
        static_cast<unsigned long long>(n));
}

// Checked in 512-byte slices: the suite aims each attack that writes towards the monitor at a
// slice of its own, so a changed slice names the attack.
void canary_verify() {
    u32 bad = 0;
    for (u32 i = 0; i < g_checked_count; ++i) {
        Place const& pl = g_checked[i];
        for (size_t j = 0; j < pl.n; ++j) {
            if (pl.p[j] == g_unit[j % kCanaryUnit]) continue;
            log("canary: CHANGED in %s at %#llx", pl.what, static_cast<unsigned long long>(phys_of(pl.p + j)));
            ++bad;
            j |= 511;  // on to the next slice
        }
    }
    if (!bad) log("canary: intact in all %u checked places", g_checked_count);
}

}  // namespace

void canary_init() {
    bool const random = make_unit();
    // COM2 only: the log ring (and the syslog export) is readable by the guest.
    char line[128];
    int n = snprintf(line, sizeof line, "canary: value %s ", random ? "rdrand" : "NOT-RANDOM");
    for (size_t i = 0; i < kCanaryUnit && n + 3 < static_cast<int>(sizeof line); ++i)
        n += snprintf(line + n, sizeof line - static_cast<size_t>(n), "%02x", g_unit[i]);
    n += snprintf(line + n, sizeof line - static_cast<size_t>(n), "\r\n");
    x86::serial_write(x86::kCom2, line, static_cast<size_t>(n));
    memset(line, 0, sizeof line);  // no copy left on the stack
    if (!random) {
        log("canary: no RDRAND; canaries not placed");
        return;
    }
    place_checked("code", g_canary_code, sizeof g_canary_code);
    place_checked("data", g_data, sizeof g_data);
    place_checked("heap", malloc(4096), 4096);
    Hpa const pg = alloc_pages(1);
    if (pg.raw) place_checked("page", hpa_virt(pg), kPageSize);
    if (!power_off_log_register(canary_verify)) log("canary: no room for the power-off check");
}

void canary_fill(void* p, size_t n, char const* what) {
    if (!p || memcmp(g_unit, "TVCANARY", 8) != 0) return;
    stamp(p, n);
    if (what)
        log("canary: %s at %#llx (%llu bytes)", what, static_cast<unsigned long long>(phys_of(p)),
            static_cast<unsigned long long>(n));
}

}  // namespace tv
