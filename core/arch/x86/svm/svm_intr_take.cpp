#include "core/arch/x86/svm/svm_intr_take.hpp"

#include <string.h>

extern "C" tv::u32 tv_svm_take_interrupt(void const* take_idtr, void* host_idtr);
extern "C" char tv_svm_take_stubs[];

namespace tv::svm {

namespace {

struct [[gnu::packed]] Idtr {
    u16 limit;
    u64 base;
};
static_assert(sizeof(Idtr) == 10);

struct Gate {
    u16 offset_low;
    u16 selector;
    u8 ist;
    u8 type;  // 0x8E: present, DPL 0, 64-bit interrupt gate
    u16 offset_mid;
    u32 offset_high;
    u32 reserved;
};
static_assert(sizeof(Gate) == 16);

constexpr u32 kStubSize = 16;
constexpr u32 kNmiVector = 2;

alignas(4096) constinit Gate g_gates[256]{};
constinit Idtr g_take_idtr{};
constinit bool g_built = false;

// Built on first use, on the timer CPU (the only one whose clock takes interrupts), from the
// running IDT: the same code selector, and the monitor's own NMI gate, so a kick NMI that
// lands in the window is handled as anywhere else.
void build() {
    Idtr host{};
    asm volatile("sidt %0" : "=m"(host));
    u16 cs;
    asm volatile("mov %%cs, %0" : "=r"(cs));
    for (u32 v = 0; v < 256; ++v) {
        u64 const at = reinterpret_cast<u64>(tv_svm_take_stubs) + u64{v} * kStubSize;
        g_gates[v] = Gate{static_cast<u16>(at), cs, 0, 0x8E, static_cast<u16>(at >> 16), static_cast<u32>(at >> 32), 0};
    }
    memcpy(&g_gates[kNmiVector], reinterpret_cast<void const*>(host.base + kNmiVector * sizeof(Gate)), sizeof(Gate));
    g_take_idtr = Idtr{sizeof g_gates - 1, reinterpret_cast<u64>(g_gates)};
    g_built = true;
}

}  // namespace

u32 take_pending_interrupt() {
    if (!g_built) build();
    Idtr host{};
    return tv_svm_take_interrupt(&g_take_idtr, &host);
}

}  // namespace tv::svm
