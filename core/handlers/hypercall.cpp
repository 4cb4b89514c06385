// Hypercalls from the guest (include/thinvisor/hypercall.h): read-only views of the exit
// counters and the log ring, with all data in registers; by VMMCALL/VMCALL or through the
// hypercall port, each caller limited to what hypercall_policy allows it.
#include "core/handlers/hypercall.hpp"

#include <string.h>

#include "core/exit_stats.hpp"
#include "core/handlers/bios_services.hpp"
#include "core/handlers/hypercall_policy.hpp"
#include "core/io_hooks.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/log_ring.hpp"
#include "core/machine.hpp"
#include "thinvisor/hypercall.h"

namespace tv {

namespace {

u64 pack8(char const* s, size_t n) {
    u64 v = 0;
    memcpy(&v, s, n < 8 ? n : 8);
    return v;
}

void counter(Vcpu& v) {
    char const* name;
    char device_name[17] = {};
    u64 value;
    u64 const index = v.reg(Reg::Rbx);
    u32 const first_device = stats_counter_count();
    bool found;
    if (index < first_device) {
        found = stats_counter(static_cast<u32>(index), &name, &value);
    } else {
        found = index - first_device < 0x10000 &&
                stats_device_counter(static_cast<u32>(index - first_device), device_name, &value);
        device_name[16] = 0;
        name = device_name;
    }
    if (!found) {
        v.set_reg(Reg::Rax, TV_HC_ERR_RANGE);
        return;
    }
    char padded[16] = {};
    size_t n = strlen(name);
    memcpy(padded, name, n < 16 ? n : 16);
    v.set_reg(Reg::Rbx, value);
    v.set_reg(Reg::Rcx, pack8(padded, 8));
    v.set_reg(Reg::Rdx, pack8(padded + 8, 8));
    v.set_reg(Reg::Rax, TV_HC_OK);
}

void log_read(Vcpu& v) {
    LogRing const& ring = log_ring();
    u64 offset = v.reg(Reg::Rbx);
    if (offset < ring.oldest()) {
        v.set_reg(Reg::Rbx, ring.oldest());
        v.set_reg(Reg::Rax, TV_HC_ERR_RANGE);
        return;
    }
    char buf[32] = {};
    u64 n = ring.read(offset, buf, sizeof buf);
    v.set_reg(Reg::Rbx, n);
    v.set_reg(Reg::Rcx, pack8(buf, 8));
    v.set_reg(Reg::Rdx, pack8(buf + 8, 8));
    v.set_reg(Reg::Rsi, pack8(buf + 16, 8));
    v.set_reg(Reg::Rdi, pack8(buf + 24, 8));
    v.set_reg(Reg::Rax, TV_HC_OK);
}

u32 g_denials;  // logged up to a bound: a user process may call in a loop

// One call, by whichever route it came; the answer goes into the caller's registers.
void answer(Vcpu& v, u64 function, HcRoute route) {
    if (!hc_allowed(function, route)) {
        if (__atomic_fetch_add(&g_denials, 1, __ATOMIC_RELAXED) < 8)
            log("hypercall: function %llu refused to CPL %u at rip %#llx (user mode; the hypercall port is the "
                "guest kernel's to hand out)",
                static_cast<unsigned long long>(function), v.cpl(), static_cast<unsigned long long>(v.rip()));
        v.set_reg(Reg::Rax, TV_HC_ERR_DENIED);
        return;
    }
    switch (function) {
        case TV_HC_INFO:
            v.set_reg(Reg::Rbx, 1);
            v.set_reg(Reg::Rcx, pack8("thinviso", 8));
            v.set_reg(Reg::Rdx, stats_counter_count());
            v.set_reg(Reg::Rax, TV_HC_OK);
            break;
        case TV_HC_COUNTER:
            counter(v);
            break;
        case TV_HC_LOG_STATE:
            v.set_reg(Reg::Rbx, log_ring().total_written());
            v.set_reg(Reg::Rcx, log_ring().capacity());
            v.set_reg(Reg::Rax, TV_HC_OK);
            break;
        case TV_HC_LOG_READ:
            log_read(v);
            break;
        case TV_HC_MONITOR_RANGE:
            v.set_reg(Reg::Rbx, monitor_region().base);
            v.set_reg(Reg::Rcx, monitor_region().size);
            v.set_reg(Reg::Rax, TV_HC_OK);
            break;
        default:
            v.set_reg(Reg::Rax, TV_HC_ERR_UNKNOWN);
            break;
    }
}

// The hypercall port: the CPU let this access through the guest's own I/O permission check.
IoAction port_call(void*, Vcpu& v, IoExit const& io, u32* value) {
    if (io.in) {
        *value = 0xFFFFFFFFu;  // nothing to read here, as on an empty port
        return IoAction::Handled;
    }
    u64 const rax = v.reg(Reg::Rax);  // OUTS keeps its count and pointers: no call by string I/O
    if (!io.string && (rax & TV_HC_MAGIC_MASK) == TV_HC_MAGIC) answer(v, rax & ~TV_HC_MAGIC_MASK, HcRoute::Port);
    return IoAction::Handled;  // anything else written here is dropped
}

}  // namespace

void handle_hypercall(Vcpu& v, ExitRecord const& e) {
    if (bios_services_hypercall(v, machine().guest_map)) return;
    u64 rax = v.reg(Reg::Rax);
    if ((rax & TV_HC_MAGIC_MASK) != TV_HC_MAGIC) {
        v.inject_exception(6, false, 0);  // not ours: what VMMCALL does without a hypervisor
        return;
    }
    answer(v, rax & ~TV_HC_MAGIC_MASK, hc_route_of_instruction(v.cpl()));
    if (!v.skip(e)) log("hypercall: no instruction length");
}

Status hypercall_port_install() { return io_hook_register(TV_HC_PORT, 1, port_call, nullptr, "hypercall"); }

}  // namespace tv
