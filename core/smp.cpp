#include "core/smp.hpp"

#include "core/apic_icr.hpp"
#include "core/arch/x86/cpu.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/mmio_hooks.hpp"
#include "core/sipi_state.hpp"
#include "core/virt_backend.hpp"
#include "lib/spinlock.hpp"

extern "C" void tv_idle_halt(tv::u8 const* asleep);

namespace tv {

namespace {

constexpr u32 kX2apicIcrMsr = 0x830;
constexpr u64 kLdr = 0xD0, kDfr = 0xE0, kIcrLow = 0x300, kIcrHigh = 0x310;
constexpr u32 kIcrBusy = 1u << 12;
constexpr u32 kIcrNmi = 4u << 8;

struct SmpCpu {
    u32 apic_id = 0;
    u32 ldr = 0, dfr = ApicDest::kDfrFlat;  // the guest's last writes to this CPU's xAPIC
    Vcpu* vcpu = nullptr;
    SpinLock lock;
    SipiState sipi = SipiState::running();
    u64 epoch_seen = 0;      // the nested-TLB epoch this CPU's next entry flushes for
    bool in_guest = false;   // between the epoch check before an entry and the exit after it
    // Wait-for-SIPI halts the CPU (a spinning one takes a host core from the CPUs doing work)
    // until a sender's NMI wakes it. Set by the CPU under `lock`, cleared by the sender that
    // changed its state.
    u8 asleep = 0;
    // The monitor sent this CPU an NMI (a kick or a wake-up) that has not arrived yet. Whoever
    // takes the next NMI on this CPU (an NMI exit, or the host handler) consumes it; an NMI
    // that finds nothing owed is the guest's. Two NMIs sent close together may merge into one,
    // as they do on hardware, which is why this is a flag, not a count.
    bool nmi_owed = false;
    bool guest_nmi = false;  // the guest's NMI, taken while the monitor ran: inject before entry
    bool draining = false;   // SVM: the host handler takes the NMI the exit already counted
};

constinit SmpCpu g_cpus[kMaxCpus];
constinit u8 g_index_by_apic[256] = {};
constinit u32 g_count = 1;
constinit u64 g_apic_base = 0;
constinit bool g_x2apic = false;
constinit u64 g_nested_epoch = 0;
constinit bool g_logical_logged = false;

u32 own_apic_id() { return x86::cpuid(1).ebx >> 24; }

// A CPU running guest code (e.g. halted with interrupts off in the firmware's AP loop) sees
// a new INIT only when it leaves the guest: an NMI makes it exit. A guest NMI arriving at the
// same moment merges with the kick and is lost, as two NMIs pending at once are on hardware.
void send_owed_nmi(SmpCpu& c) {
    __atomic_store_n(&c.nmi_owed, true, __ATOMIC_RELEASE);
    lapic_send_ipi(c.apic_id, kIcrNmi);
}

void kick(SmpCpu& c) {
    if (machine().backend->kicks_by_nmi()) send_owed_nmi(c);
}

// Called with c.lock held, after the sender changed c's state.
void wake(SmpCpu& c) {
    if (!__atomic_load_n(&c.asleep, __ATOMIC_RELAXED)) return;
    __atomic_store_n(&c.asleep, 0, __ATOMIC_RELEASE);
    send_owed_nmi(c);
}

// Until a sender wakes this CPU, or anything else ends the HLT (the caller checks its state
// again). The sender's NMI must land here: sent into the guest it would reach the guest as
// its own NMI (or with nothing to consume it, on VMX without NMI exiting, directly).
void sleep_until_woken(SmpCpu& c) {
    VirtBackend const& b = *machine().backend;
    b.host_nmis(true);
    tv_idle_halt(&c.asleep);
    while (__atomic_load_n(&c.nmi_owed, __ATOMIC_ACQUIRE)) x86::pause();
    b.host_nmis(false);
}

// Every target of `icr` gets the INIT or SIPI; nothing reaches the hardware.
void deliver(u32 sender, Icr const& icr, bool x2apic) {
    if (icr_is_init_deassert(icr)) return;
    u32 const n = __atomic_load_n(&g_count, __ATOMIC_ACQUIRE);
    u32 matched = 0;
    for (u32 i = 0; i < n; ++i) {
        SmpCpu& c = g_cpus[i];
        ApicDest const dest{c.apic_id, __atomic_load_n(&c.ldr, __ATOMIC_ACQUIRE), __atomic_load_n(&c.dfr, __ATOMIC_ACQUIRE)};
        if (!c.vcpu || !icr_targets(icr, dest, i == sender, x2apic)) continue;
        ++matched;
        LockGuard guard(c.lock);
        if (icr.delivery == IcrDelivery::Init) {
            bool const was_running = !c.sipi.is_waiting();
            c.sipi.init();
            if (was_running && i != sender) kick(c);
        } else if (c.sipi.sipi(icr.vector)) {
            log("smp: cpu %u (apic %u) gets SIPI vector %#x from cpu %u", i, c.apic_id, icr.vector, sender);
            wake(c);
        }
    }
    if (!matched && icr.logical && !g_logical_logged) {
        g_logical_logged = true;
        log("smp: INIT/SIPI to logical destination %#x matches no CPU", icr.dest);
    }
}

// The hook spans LDR to ICR low: the logical destination registers are recorded on their
// way to the writer's own APIC (a logical INIT/SIPI is matched against them), the ICR's
// start-up signals are emulated, everything else in between passes through.
MmioAction icr_hook(void*, Vcpu& v, Gpa gpa, u8 size, bool write, u64* value) {
    if (!write || size != 4) return MmioAction::PassThrough;
    if (gpa.raw == g_apic_base + kLdr || gpa.raw == g_apic_base + kDfr) {
        SmpCpu& c = g_cpus[v.id()];
        __atomic_store_n(gpa.raw == g_apic_base + kLdr ? &c.ldr : &c.dfr, static_cast<u32>(*value), __ATOMIC_RELEASE);
        return MmioAction::PassThrough;
    }
    if (gpa.raw != g_apic_base + kIcrLow) return MmioAction::PassThrough;
    u64 high = 0;
    if (!mmio_device_access(Gpa{g_apic_base + kIcrHigh}, 4, false, &high)) return MmioAction::PassThrough;
    Icr const icr = icr_decode_xapic(static_cast<u32>(*value), static_cast<u32>(high));
    if (!icr_is_start_signal(icr)) return MmioAction::PassThrough;
    deliver(v.id(), icr, false);
    return MmioAction::Handled;
}

}  // namespace

u32 this_cpu() {
    if (__atomic_load_n(&g_count, __ATOMIC_RELAXED) == 1) return 0;
    return g_index_by_apic[own_apic_id() & 0xFF];
}

u32 smp_cpu_count() { return __atomic_load_n(&g_count, __ATOMIC_ACQUIRE); }

void smp_register_cpu(u32 index, u32 apic_id) {
    if (index >= kMaxCpus) return;
    g_cpus[index].apic_id = apic_id;
    g_index_by_apic[apic_id & 0xFF] = static_cast<u8>(index);
    if (index + 1 > g_count) __atomic_store_n(&g_count, index + 1, __ATOMIC_RELEASE);
}

void smp_attach_vcpu(Vcpu& v, bool wait_for_sipi) {
    SmpCpu& c = g_cpus[v.id()];
    LockGuard guard(c.lock);
    c.sipi = wait_for_sipi ? SipiState::waiting() : SipiState::running();
    c.epoch_seen = __atomic_load_n(&g_nested_epoch, __ATOMIC_ACQUIRE);
    __atomic_store_n(&c.vcpu, &v, __ATOMIC_RELEASE);
}

Status smp_icr_hooks_install(Machine& m, u64 apic_base) {
    g_apic_base = apic_base;
    g_x2apic = x86::rdmsr(0x1B) & (1u << 10);
    if (!m.intercepts.add_msr(kX2apicIcrMsr)) return Status::NoMemory;
    return mmio_hook_register(Gpa{apic_base + kLdr}, kIcrLow + 4 - kLdr, icr_hook, nullptr, "lapic-icr");
}

void lapic_send_ipi(u32 apic_id, u32 icr_low) {
    if (g_x2apic) {
        x86::wrmsr(kX2apicIcrMsr, (static_cast<u64>(apic_id) << 32) | icr_low);
        return;
    }
    // A kick is sent from inside the guest's own ICR write: give the guest its ICR high back.
    u64 guest_high = 0, high = static_cast<u64>(apic_id) << 24, low = icr_low;
    (void)mmio_device_access(Gpa{g_apic_base + kIcrHigh}, 4, false, &guest_high);
    (void)mmio_device_access(Gpa{g_apic_base + kIcrHigh}, 4, true, &high);
    (void)mmio_device_access(Gpa{g_apic_base + kIcrLow}, 4, true, &low);
    bool sent = false;
    for (u32 i = 0; i < 1000000 && !sent; ++i) {
        u64 status = 0;
        (void)mmio_device_access(Gpa{g_apic_base + kIcrLow}, 4, false, &status);
        sent = !(status & kIcrBusy);
        if (!sent) x86::pause();
    }
    (void)mmio_device_access(Gpa{g_apic_base + kIcrHigh}, 4, true, &guest_high);
    if (!sent) log("smp: IPI %#x to apic %u still pending", icr_low, apic_id);
}

void smp_before_entry(Vcpu& v) {
    SmpCpu& c = g_cpus[v.id()];
    for (;;) {
        u8 vector = 0;
        SipiState::Step step;
        {
            LockGuard guard(c.lock);
            step = c.sipi.before_entry(&vector);
            __atomic_store_n(&c.asleep, step == SipiState::Step::Wait ? 1 : 0, __ATOMIC_RELEASE);
        }
        if (step == SipiState::Step::Run) {
            if (__atomic_exchange_n(&c.guest_nmi, false, __ATOMIC_ACQ_REL)) v.inject_nmi();
            break;
        }
        if (step == SipiState::Step::StartAt) {
            // A CPU in wait-for-SIPI does not take NMIs; one that came meanwhile is dropped.
            if (__atomic_exchange_n(&c.guest_nmi, false, __ATOMIC_ACQ_REL))
                log("smp: cpu %u: an NMI that came while it waited for its SIPI is dropped", v.id());
            if (!v.start_at_sipi(vector)) log("smp: cpu %u cannot start at a SIPI", v.id());
            break;
        }
        sleep_until_woken(c);  // wait-for-SIPI: the monitor holds this CPU until the guest starts it
    }
    // in_guest before the epoch is read, and the epoch bumped before in_guest is read by a
    // flush-all (both sequentially consistent): either this entry sees the new epoch, or the
    // flusher sees this CPU in the guest and kicks it.
    __atomic_store_n(&c.in_guest, true, __ATOMIC_SEQ_CST);
    u64 const epoch = __atomic_load_n(&g_nested_epoch, __ATOMIC_SEQ_CST);
    if (epoch != c.epoch_seen) {
        __atomic_store_n(&c.epoch_seen, epoch, __ATOMIC_RELEASE);
        v.flush_nested_tlb();
    }
}

void smp_after_exit(Vcpu& v) { __atomic_store_n(&g_cpus[v.id()].in_guest, false, __ATOMIC_RELEASE); }

bool nested_tlb_flush_all_possible() { return smp_cpu_count() == 1 || machine().backend->kicks_by_nmi(); }

namespace {
// Whether CPU c may still run guest code on translations older than epoch `target`.
bool stale(SmpCpu& c, u64 target) {
    return __atomic_load_n(&c.in_guest, __ATOMIC_SEQ_CST) && __atomic_load_n(&c.epoch_seen, __ATOMIC_ACQUIRE) < target;
}
}  // namespace

void nested_tlb_flush_all(Vcpu& v) {
    v.flush_nested_tlb();
    u64 const target = __atomic_add_fetch(&g_nested_epoch, 1, __ATOMIC_SEQ_CST);
    u32 const n = smp_cpu_count();
    for (u32 i = 0; i < n; ++i)
        if (i != v.id() && __atomic_load_n(&g_cpus[i].vcpu, __ATOMIC_ACQUIRE) && stale(g_cpus[i], target))
            send_owed_nmi(g_cpus[i]);
    for (u32 i = 0; i < n; ++i)
        while (i != v.id() && stale(g_cpus[i], target)) x86::pause();
}

void smp_host_nmi() {
    SmpCpu& c = g_cpus[this_cpu()];
    if (__atomic_load_n(&c.draining, __ATOMIC_ACQUIRE)) return;
    if (!__atomic_exchange_n(&c.nmi_owed, false, __ATOMIC_ACQ_REL)) __atomic_store_n(&c.guest_nmi, true, __ATOMIC_RELEASE);
}

void smp_nmi_exit(Vcpu& v) {
    SmpCpu& c = g_cpus[v.id()];
    bool const owed = __atomic_exchange_n(&c.nmi_owed, false, __ATOMIC_ACQ_REL);
    // SVM leaves the exit's NMI pending while GIF is clear, where it would end the next entry
    // at once: the host handler takes it here without counting it again.
    VirtBackend const& b = *machine().backend;
    __atomic_store_n(&c.draining, true, __ATOMIC_RELEASE);
    b.host_nmis(true);
    b.host_nmis(false);
    __atomic_store_n(&c.draining, false, __ATOMIC_RELEASE);
    if (!owed) v.inject_nmi();
}

void smp_init_exit(Vcpu& v) {
    // A real INIT reached this CPU (not one the ICR hook emulated): the guest's own doing, so
    // say so; the attack suites look for this line.
    log("smp: cpu %u took an INIT: it waits for a SIPI", v.id());
    SmpCpu& c = g_cpus[v.id()];
    LockGuard guard(c.lock);
    c.sipi.init();
}

bool smp_x2apic_icr_write(Vcpu& v, ExitRecord const& e) {
    if (static_cast<u32>(v.reg(Reg::Rcx)) != kX2apicIcrMsr) return false;
    u64 const value = (v.reg(Reg::Rdx) << 32) | static_cast<u32>(v.reg(Reg::Rax));
    Icr const icr = icr_decode_x2apic(value);
    if (!icr_is_start_signal(icr)) return false;
    deliver(v.id(), icr, true);
    if (!v.skip(e)) v.set_rip(v.rip() + 2);  // WRMSR is 0F 30
    return true;
}

void nested_tlb_changed() { __atomic_fetch_add(&g_nested_epoch, 1, __ATOMIC_ACQ_REL); }

}  // namespace tv
