#include "core/ap_boot.hpp"

#include <string.h>

#include "core/acpi.hpp"
#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/descriptors.hpp"
#include "core/clock.hpp"
#include "core/dispatch.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/memory.hpp"
#include "core/smp.hpp"

extern "C" char tv_ap_tramp_start[], tv_ap_tramp_end[], tv_ap_tramp_gdtr[], tv_ap_tramp_farptr[];
extern "C" char tv_ap_tramp_gdt[], tv_ap_tramp_long64[], tv_ap_tramp_cr3[], tv_ap_tramp_efer[];
extern "C" char tv_ap_tramp_cr4[], tv_ap_tramp_stack[], tv_ap_tramp_entry[], tv_ap_tramp_cpu[];
extern "C" [[noreturn]] void tv_ap_main(tv::u32 cpu);

namespace tv {

namespace {

constexpr u64 kApicBaseMsr = 0x1B;
constexpr u32 kIcrInitAssert = 0x0000C500;  // INIT, level, assert
constexpr u32 kIcrStartup = 0x00000600;     // START-UP | vector
constexpr u64 kStackPages = 4;
constexpr u64 kApWaitUs = 2'000'000;

enum class ApPhase : u32 { Off, Alive, Ready, Failed };
constinit ApPhase g_phase = ApPhase::Off;
constinit bool g_released = false;

ApPhase phase() { return __atomic_load_n(&g_phase, __ATOMIC_ACQUIRE); }
void set_phase(ApPhase p) { __atomic_store_n(&g_phase, p, __ATOMIC_RELEASE); }

struct Trampoline {
    u64 page;      // physical, below 1 MiB
    u8* code;      // the page through the direct map
    u8 saved[kPageSize];
    Hpa pdpt, pd;  // the temporary 1:1 map of the first 2 MiB in PML4 slot 0
};
constinit Trampoline g_tramp{};

template <typename T>
void patch(char const* sym, T value) {
    memcpy(g_tramp.code + (sym - tv_ap_tramp_start), &value, sizeof value);
}

u64* monitor_pml4() { return static_cast<u64*>(phys_to_virt(x86::read_cr3() & ~0xFFFull)); }

// Why the trampoline cannot run, or nullptr: it loads CR3 in 32-bit code and borrows the
// first PML4 slot for a 1:1 map of its page.
char const* trampoline_setup(Machine& m) {
    if (x86::read_cr3() >= (4ull << 30)) return "the monitor's page tables are above 4 GiB";
    if (monitor_pml4()[0] != 0) return "PML4 slot 0 is in use";
    u64 page = 0;
    if (!m.guest_map.find_top_usable(kPageSize, kPageSize, 0x9F000, nullptr, nullptr, 0, &page) || page < 0x1000)
        return "no usable page below 640 KiB";
    u64 const size = static_cast<u64>(tv_ap_tramp_end - tv_ap_tramp_start);
    if (size > kPageSize) return "trampoline too large";
    g_tramp.pdpt = alloc_pages(1);
    g_tramp.pd = alloc_pages(1);
    if (!g_tramp.pdpt.raw || !g_tramp.pd.raw) return "out of memory";
    g_tramp.page = page;
    g_tramp.code = static_cast<u8*>(phys_to_virt(page));
    memcpy(g_tramp.saved, g_tramp.code, kPageSize);  // guest (firmware) memory: put back later
    memcpy(g_tramp.code, tv_ap_tramp_start, size);
    patch<u32>(tv_ap_tramp_gdtr + 2, static_cast<u32>(page + static_cast<u64>(tv_ap_tramp_gdt - tv_ap_tramp_start)));
    patch<u32>(tv_ap_tramp_farptr, static_cast<u32>(page + static_cast<u64>(tv_ap_tramp_long64 - tv_ap_tramp_start)));
    patch<u64>(tv_ap_tramp_cr3, x86::read_cr3());
    patch<u64>(tv_ap_tramp_efer, x86::rdmsr(x86::msr::kEfer) & ~(x86::kEferSvme | x86::kEferLma));
    patch<u64>(tv_ap_tramp_cr4, x86::read_cr4());
    patch<u64>(tv_ap_tramp_entry, reinterpret_cast<u64>(&tv_ap_main));
    static_cast<u64*>(hpa_virt(g_tramp.pd))[0] = 0x83;  // 2 MiB at 0: present, writable, large
    static_cast<u64*>(hpa_virt(g_tramp.pdpt))[0] = g_tramp.pd.raw | 3;
    monitor_pml4()[0] = g_tramp.pdpt.raw | 3;
    x86::write_cr3(x86::read_cr3());
    return nullptr;
}

void trampoline_teardown() {
    monitor_pml4()[0] = 0;
    x86::write_cr3(x86::read_cr3());
    memcpy(g_tramp.code, g_tramp.saved, kPageSize);
    free_pages(g_tramp.pd, 1);
    free_pages(g_tramp.pdpt, 1);
}

bool wait_phase(u64 us) {
    u64 const until = clock_us() + us;
    while (clock_us() < until) {
        ApPhase const p = phase();
        if (p == ApPhase::Ready) return true;
        if (p == ApPhase::Failed) return false;
        x86::pause();
    }
    return false;
}

// INIT, then SIPI twice as the MP specification's universal start-up algorithm does; the
// second SIPI only when the first did not take.
bool start_ap(u32 index, u32 apic_id) {
    Hpa stack = alloc_pages(kStackPages);
    if (!stack.raw) return false;
    patch<u64>(tv_ap_tramp_stack, reinterpret_cast<u64>(hpa_virt(stack)) + kStackPages * kPageSize);
    patch<u32>(tv_ap_tramp_cpu, index);
    set_phase(ApPhase::Off);
    smp_register_cpu(index, apic_id);
    u32 const vector = static_cast<u32>(g_tramp.page >> 12);
    lapic_send_ipi(apic_id, kIcrInitAssert);
    clock_delay_us(10'000);
    lapic_send_ipi(apic_id, kIcrStartup | vector);
    clock_delay_us(200);
    if (phase() == ApPhase::Off) lapic_send_ipi(apic_id, kIcrStartup | vector);
    return wait_phase(kApWaitUs);
}

u32 own_apic_id() { return x86::cpuid(1).ebx >> 24; }

}  // namespace

u32 ap_boot_all(Machine& m) {
    u32 ids[kMaxCpus];
    u32 const n = acpi_find_cpus(ids, kMaxCpus);
    u32 const bsp = own_apic_id();
    smp_register_cpu(0, bsp);
    if (n <= 1) return 1;
    if (!ok(smp_icr_hooks_install(m, x86::rdmsr(kApicBaseMsr) & 0xFFFFFFFFFF000ull))) {
        log("smp: cannot claim the local APIC's ICR; running the guest on the boot CPU only");
        return 1;
    }
    if (char const* why = trampoline_setup(m)) {
        log("smp: cannot start the application processors (%s); the guest gets the boot CPU only", why);
        return 1;
    }
    u32 count = 1;
    for (u32 i = 0; i < n; ++i) {
        if (ids[i] == bsp) continue;
        if (start_ap(count, ids[i])) {
            log("smp: cpu %u (apic %u) is in the monitor, waiting for the guest's SIPI", count, ids[i]);
            ++count;
        } else {
            log("smp: apic %u did not come up; the guest cannot use it", ids[i]);
        }
    }
    trampoline_teardown();
    log("smp: %u of %u processors under the monitor", count, n);
    return count;
}

void ap_release() { __atomic_store_n(&g_released, true, __ATOMIC_RELEASE); }

}  // namespace tv

extern "C" void tv_ap_main(tv::u32 cpu) {
    using namespace tv;
    x86::descriptors_init_cpu(cpu);
    set_phase(ApPhase::Alive);
    Machine& m = machine();
    Vcpu* v = nullptr;
    if (ok(m.backend->enable_cpu())) {
        RealModeStart const parked{0, 0, 0, 0, 0, 0, 0};  // replaced by the SIPI's state
        v = m.backend->create_vcpu(cpu, GuestStart::real_mode(parked), m.nested.root(), m.intercepts);
    }
    if (!v) {
        log("smp: cpu %u could not enable virtualization or create its vCPU", cpu);
        set_phase(ApPhase::Failed);
        x86::halt_forever();
    }
    smp_attach_vcpu(*v, true);
    set_phase(ApPhase::Ready);
    while (!__atomic_load_n(&g_released, __ATOMIC_ACQUIRE)) x86::pause();
    x86::write_cr3(x86::read_cr3());  // drop the trampoline's 1:1 map from this TLB
    vcpu_loop(*v);
}
