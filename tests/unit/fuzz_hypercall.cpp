// libFuzzer target: the hypercall interface (core/handlers/hypercall.cpp,
// include/thinvisor/hypercall.h) with guest-chosen registers: any function number, counter
// index and log offset, against real exit counters, device counters and log ring. The BIOS
// services that share VMMCALL are left out here (they answer only from the real-mode stub's
// own address). Checks: nothing out of bounds (ASan/UBSan); a call without the magic gets
// #UD and changes no register; every other call answers OK, ERR_RANGE or ERR_UNKNOWN; a log
// read returns at most 32 bytes, exactly the ring's bytes at that offset; the monitor range
// reported is the monitor's.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <initializer_list>

#include "tests/unit/fuzz_input.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/bios_services.hpp"
#include "core/handlers/hypercall.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/io_hooks.hpp"
#include "core/log_ring.hpp"
#include "core/machine.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "thinvisor/hypercall.h"

namespace tv {

namespace {
LogRing g_ring;
char g_ring_storage[4096];
constexpr MonitorRegion kRegion{0x1E00000, 32u << 20};
}  // namespace

// What the handler needs from the rest of the monitor.
bool bios_services_hypercall(Vcpu&, MemoryMap const&) { return false; }
Machine& machine() {
    static Machine m;
    return m;
}
MonitorRegion const& monitor_region() { return kRegion; }
LogRing const& log_ring() { return g_ring; }
void log(char const*, ...) {}
// The hypercall port is installed at boot, never by the fuzzed calls.
Status io_hook_register(u16, u16, IoHandler, void*, char const*) { return Status::Ok; }

}  // namespace tv

using namespace tv;

namespace {

bool device_counter(void*, u32 i, char* name, u64* value) {
    if (i >= 5) return false;
    snprintf(name, 17, "dev-counter-%u-long-name", i);  // longer than 16: the handler cuts it
    *value = i * 1000u;
    return true;
}

u64 pick(Input& in) {
    u8 const k = in.take<u8>();
    switch (k % 4) {
        case 0: return k >> 2;                 // small indexes
        case 1: return g_ring.oldest() + (k >> 2);
        case 2: return ~u64{0} - (k >> 2);     // near the top
        default: return in.take<u64>();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static bool once = [] {
        check(stats_device_counters_register(5, device_counter, nullptr), "device counters registered");
        return true;
    }();
    (void)once;
    Input in{data, size};
    g_ring = LogRing{};
    g_ring.init(g_ring_storage, in.take<u8>() & 1 ? sizeof g_ring_storage : 1024);
    u16 const logged = in.take<u16>();
    for (u32 i = 0; i < logged % 600; ++i) g_ring.write("a log line of the monitor\n", 26);
    while (in.n) {
        test::FakeVcpu v;
        u8 const sel = in.take<u8>();
        u64 const rax = (sel & 0x80) ? in.take<u64>() : TV_HC_MAGIC | (sel % 8);
        u64 const rbx = pick(in);
        v.set_reg(Reg::Rax, rax);
        v.set_reg(Reg::Rbx, rbx);
        for (Reg r : {Reg::Rcx, Reg::Rdx, Reg::Rsi, Reg::Rdi}) v.set_reg(r, 0x5A5A5A5A5A5A5A5Aull);
        handle_hypercall(v, test::exit_of(ExitReason::Hypercall, 3));
        if ((rax & TV_HC_MAGIC_MASK) != TV_HC_MAGIC) {
            check(v.injected && v.vector_ == 6, "a foreign VMMCALL gets #UD");
            check(v.reg(Reg::Rax) == rax && v.reg(Reg::Rbx) == rbx, "and changes no register");
            continue;
        }
        u64 const st = v.reg(Reg::Rax);
        check(st == TV_HC_OK || st == TV_HC_ERR_RANGE || st == TV_HC_ERR_UNKNOWN, "a status the ABI has");
        u64 const fn = rax & ~TV_HC_MAGIC_MASK;
        if (fn == TV_HC_LOG_READ && st == TV_HC_OK) {
            u64 const n = v.reg(Reg::Rbx);
            check(n <= 32, "a log read returns at most 32 bytes");
            char want[32] = {}, got[32] = {};
            check(g_ring.read(rbx, want, n) == n, "the bytes are the ring's");
            u64 regs[4] = {v.reg(Reg::Rcx), v.reg(Reg::Rdx), v.reg(Reg::Rsi), v.reg(Reg::Rdi)};
            memcpy(got, regs, sizeof got);
            check(memcmp(got, want, n) == 0, "the log bytes are returned as they are in the ring");
        }
        if (fn == TV_HC_MONITOR_RANGE)
            check(v.reg(Reg::Rbx) == kRegion.base && v.reg(Reg::Rcx) == kRegion.size, "the monitor range is reported");
    }
    return 0;
}
