// The AHCI mediator's place in the monitor: PCI discovery, the ABAR hook, monitor memory for
// shadows and bounce buffers, and the AhciEnv that reaches the real HBA and guest RAM.
#include <stdio.h>
#include <string.h>

#include "core/canary.hpp"
#include "core/device/guest_memory.hpp"
#include "core/exit_stats.hpp"
#include "core/io_hooks.hpp"
#include "core/layout.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/memory.hpp"
#include "core/mmio_hooks.hpp"
#include "drivers/ahci/ahci_hba.hpp"
#include "drivers/ahci/ahci_mediator.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/pci/bar_hook.hpp"

namespace tv::ata {

namespace {

using namespace ahci;

constexpr u8 kClassStorage = 0x01, kSubclassSata = 0x06, kProgIfAhci = 0x01, kAbar = 5;
constexpr u32 kMaxControllers = 2;
constexpr u32 kBouncePages = 1024;  // 4 MiB per controller: three 1.25 MiB Linux requests in flight

class MonitorEnv final : public AhciEnv {
  public:
    u32 dev_read(u32 off) override {
        u64 v = 0;
        if (!mmio_device_access(Gpa{mmio_hook_base(hook).raw + off}, 4, false, &v)) return 0xFFFFFFFF;
        return static_cast<u32>(v);
    }
    void dev_write(u32 off, u32 value) override {
        u64 v = value;
        (void)mmio_device_access(Gpa{mmio_hook_base(hook).raw + off}, 4, true, &v);
    }
    bool guest_ok(Gpa gpa, u64 len) override { return guest_memory().ok(gpa, len); }
    bool guest_read(Gpa gpa, void* dst, u64 len) override { return guest_memory().read(gpa, dst, len); }
    bool guest_write(Gpa gpa, void const* src, u64 len) override { return guest_memory().write(gpa, src, len); }
    void refused(u32 port, u32 slot, u8 command, char const* why) override {
        char device[24], cause[160];  // per port and cause, not per slot: the slot is incidental
        snprintf(device, sizeof device, "ahci: port %u", port);
        snprintf(cause, sizeof cause, "refused %s (%#x): %s", ata_command_name(command), command, why);
        if (log_limit_allow(device, cause)) log("ahci: port %u slot %u: %s", port, slot, cause);
    }
    void note(u32 port, char const* what) override { log("ahci: port %u: %s", port, what); }
    void trap_reads() override { set_reads_direct(false); }

    // See sync_reads(). vcpu: the CPU whose exit is being handled (null before the guest runs).
    void set_reads_direct(bool direct) {
        if (direct == reads_direct || !vcpu) return;
        Status const s = mmio_hook_reads_direct(*vcpu, hook, direct);
        if (ok(s)) {
            reads_direct = direct;
            ++(direct ? widened : narrowed);
        } else if (!direct) log("ahci: cannot trap the ABAR's reads again (status %u)", static_cast<unsigned>(s));
    }

    MmioHookId hook{};
    Vcpu* vcpu{nullptr};
    bool reads_direct{false};  // the ABAR is mapped read-only: the guest's reads do not exit
    u64 widened{0}, narrowed{0};  // how often (power-off log: each change costs a TLB flush)
};

struct Controller {
    MonitorEnv env;
    BouncePool pool;
    AhciHba hba;
    // Every member initialized: a member without one silently turned this constinit global
    // into zeroed .bss without its vtable pointer (GCC 12), and the first call faulted.
    u16 idp_base{0}, idp_size{0};  // I/O BAR4: the Index-Data Pair (0: none)
    u32 idp_index{0};
    bool idp_sizing{false};
    // The ABAR hook, the index/data ports and the configuration hooks: one lock.
    Device device{"ahci"};
};

constinit Controller g_ctrl[kMaxControllers];
constinit u32 g_count = 0;

// After every access the monitor handled: while the mediator needs to see nothing until the
// guest's next write (every command in flight quiet, docs/ahci.md "Quiet reads"), the ABAR is
// mapped read-only so that status reads go to the HBA without an exit; as soon as a command
// needs the monitor at completion (an encrypted read, a bounce copy, a waiting slot) reads
// exit again, on every CPU, before the guest runs on.
// The port narrows (AhciEnv::trap_reads) before it hands the device anything that is not
// quiet; widening waits until the access is done.
void sync_reads(Controller& c) {
    c.env.set_reads_direct(c.hba.quiet());
    c.env.vcpu = nullptr;
}

MmioAction abar_access(void* ctx, Vcpu& v, Gpa gpa, u8 size, bool write, u64* value) {
    Controller& c = *static_cast<Controller*>(ctx);
    u32 const off = static_cast<u32>(gpa.raw - mmio_hook_base(c.env.hook).raw);
    c.env.vcpu = &v;
    if (write) c.hba.write_sized(off, size, *value);
    else *value = c.hba.read_sized(off, size);
    sync_reads(c);
    return MmioAction::Handled;
}

// ICH-style controllers (QEMU's ich9-ahci included) decode an Index-Data Pair in I/O BAR4:
// index at +0, data at +4, reaching every ABAR register. Left alone it would let the guest
// write PxCLB behind the ABAR hook, so it is routed through the same mediator.
IoAction idp_access(void* ctx, Vcpu& v, IoExit const& io, u32* value) {
    Controller& c = *static_cast<Controller*>(ctx);
    u32 const off = static_cast<u32>(io.port - c.idp_base);
    if (io.string || off >= 8) {  // string I/O on a register pair: refused, reads all ones
        if (io.in) *value = 0xFFFFFFFF;
        return IoAction::Handled;
    }
    if (off < 4) {
        u32 const shift = off * 8, mask = io.size >= 4 ? 0xFFFFFFFFu : ((1u << (io.size * 8)) - 1) << shift;
        if (io.in) *value = (c.idp_index & mask) >> shift;
        else c.idp_index = (c.idp_index & ~mask) | ((*value << shift) & mask);
        return IoAction::Handled;
    }
    u32 const reg = (c.idp_index & 0xFFC) + (off - 4);
    c.env.vcpu = &v;
    if (io.in) *value = static_cast<u32>(c.hba.read_sized(reg, io.size));
    else c.hba.write_sized(reg, io.size, *value);
    sync_reads(c);
    return IoAction::Handled;
}

// BAR4 stays where the hook is: a move is ignored; sizing is answered without touching the
// device (which would otherwise decode the pair at the top of I/O space meanwhile).
pci::ConfigAction idp_bar_pin(void* ctx, Vcpu&, pci::Bdf, u16 reg, u8 size, bool write, u32* value) {
    Controller& c = *static_cast<Controller*>(ctx);
    if (reg != 0x20 || size != 4) return write ? pci::ConfigAction::Handled : pci::ConfigAction::PassThrough;
    if (!write) {
        if (!c.idp_sizing) return pci::ConfigAction::PassThrough;
        *value = (~(u32{c.idp_size} - 1) & 0xFFFFFFFCu) | 1u;
        return pci::ConfigAction::Handled;
    }
    c.idp_sizing = *value == 0xFFFFFFFF;
    if (!c.idp_sizing && (*value & ~3u) != c.idp_base) log("ahci: guest tried to move the index-data pair BAR; ignored");
    return pci::ConfigAction::Handled;
}

Status hook_idp(Controller& c, pci::Function const& f) {
    pci::Bar const& b = f.bars[4];
    if (b.kind != pci::BarKind::Io || b.size < 8 || b.size > 0x100) return Status::Ok;
    c.idp_base = static_cast<u16>(b.base);
    c.idp_size = static_cast<u16>(b.size);
    Status s = io_hook_register(c.device, c.idp_base, c.idp_size, idp_access, &c, "ahci-idp");
    if (ok(s)) s = pci::pci_config_hook_register(c.device, f.bdf, 0x20, 4, idp_bar_pin, &c, "ahci-idp-bar");
    return s;
}

[[nodiscard]] bool alloc_dma(u64 bytes, DmaMem* out) {
    Hpa const h = alloc_pages(align_up(bytes, kPageSize) / kPageSize);
    if (!h.raw) return false;
    *out = DmaMem{static_cast<u8*>(hpa_virt(h)), h};
    return true;
}

Status setup_ports(Controller& c, pci::Bdf bdf) {
    for (u32 p = 0; p < kMaxPorts; ++p) {
        if (!(c.hba.implemented() >> p & 1)) continue;
        DmaMem dma, prds;
        if (!alloc_dma(kPortDmaBytes, &dma) || !alloc_dma(kPortPrdBytes, &prds)) return Status::NoMemory;
        if (!c.hba.attach_port(p, dma, reinterpret_cast<PrdEntry*>(prds.virt))) continue;
        AhciPort& port = c.hba.port(p);
        if (!port.take_over()) {
            log("ahci %02x:%02x.%u: port %u busy at takeover", bdf.bus, bdf.dev, bdf.fn, p);
            continue;
        }
        if (port.identify_now())
            log("ahci %02x:%02x.%u: port %u disk '%s', %u-byte sectors, %s", bdf.bus, bdf.dev, bdf.fn, p,
                port.crypt().disk_name(), port.crypt().sector_size(),
                port.crypt().active() ? "encrypted" : (port.crypt().policy() == DiskPolicy::Deny ? "DENIED" : "plaintext"));
    }
    return Status::Ok;
}

Status install_one(pci::Function const& f) {
    pci::Bar const& b = f.bars[kAbar];
    if (b.kind != pci::BarKind::Mem32 && b.kind != pci::BarKind::Mem64) return Status::NotFound;
    if (g_count == kMaxControllers) return Status::NoMemory;
    Controller& c = g_ctrl[g_count];
    char who[24];
    snprintf(who, sizeof who, "ahci %02x:%02x.%u", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    Status s = pci::pci_bar_hook(c.device, f, kAbar, abar_access, &c, "ahci-mediator", who, &c.env.hook);
    if (s == Status::Exists) return Status::Ok;
    if (!ok(s)) return s;
    ++g_count;
    DmaMem pool;
    if (!alloc_dma(u64{kBouncePages} * kPageSize, &pool)) return Status::NoMemory;
    canary_fill(pool.virt, u64{kBouncePages} * kPageSize, "ahci bounce");
    c.pool.init(pool, kBouncePages);
    c.hba.init(&c.env, &c.pool);
    s = hook_idp(c, f);
    return ok(s) ? setup_ports(c, f.bdf) : s;
}

// The guest's ABAR accesses of every controller together, by register (device counters).
bool access_counter(void*, u32 i, char* name, u64* value) {
    if (!access_counter_name(i, name, 17)) return false;
    *value = 0;
    for (u32 c = 0; c < g_count; ++c) *value += g_ctrl[c].hba.counts().get(static_cast<RegClass>(i / 2), i % 2);
    return true;
}

// The registers in [first, end) the guest touched, "name=reads/writes"; HBA and port
// registers on separate lines, so that a long run's counts never overflow the log's line.
void log_accesses(u32 i, RegClass first, RegClass end, char const* what) {
    AccessCounts const& k = g_ctrl[i].hba.counts();
    char line[400];
    int n = snprintf(line, sizeof line, "ahci%u: guest %s register accesses (reads/writes):", i, what);
    for (u32 c = static_cast<u32>(first); c < static_cast<u32>(end) && n > 0 && static_cast<size_t>(n) < sizeof line;
         ++c) {
        u64 const r = k.get(static_cast<RegClass>(c), false), w = k.get(static_cast<RegClass>(c), true);
        if (r || w)
            n += snprintf(line + n, sizeof line - static_cast<size_t>(n), " %s=%llu/%llu",
                          reg_class_name(static_cast<RegClass>(c)), static_cast<unsigned long long>(r),
                          static_cast<unsigned long long>(w));
    }
    log("%s", line);
}

// At power-off: what each mediated port did, next to the exit counters.
void log_counters() {
    for (u32 i = 0; i < g_count; ++i) {
        log("ahci%u: status reads went to the HBA %llu times, exited again %llu times", i,
            static_cast<unsigned long long>(g_ctrl[i].env.widened), static_cast<unsigned long long>(g_ctrl[i].env.narrowed));
        log_accesses(i, RegClass::Cap, RegClass::PxBases, "HBA");
        log_accesses(i, RegClass::PxBases, RegClass::kCount, "port");
        for (u32 p = 0; p < kMaxPorts; ++p) {
            AhciPort& port = g_ctrl[i].hba.port(p);
            if (!port.ready() || port.counters().issued == 0) continue;
            PortCounters const& k = port.counters();
            log("ahci%u: port %u: %llu commands issued, %llu completed, %llu refused, %llu deferred, %llu KiB read, "
                "%llu KiB written", i, p, static_cast<unsigned long long>(k.issued),
                static_cast<unsigned long long>(k.completed), static_cast<unsigned long long>(k.refused),
                static_cast<unsigned long long>(k.deferred), static_cast<unsigned long long>(k.bytes_in / 1024),
                static_cast<unsigned long long>(k.bytes_out / 1024));
        }
    }
}

}  // namespace

namespace {

Status prepare(bool* active) {
    *active = true;
    return sector_crypt_load_boot_keys();
}

bool matches(pci::Function const& f) {
    return f.class_code == kClassStorage && f.subclass == kSubclassSata && f.prog_if == kProgIfAhci;
}

Status attach(pci::Function const& f, pci::PciClaim& claim) { return claim.take(pci::kAllParts) ? install_one(f) : Status::Ok; }

Status finish() {
    if (g_count && !power_off_log_register(log_counters)) log("ahci: no room for the power-off log");
    if (g_count) log_limit_install();
    if (g_count && !stats_device_counters_register(kAccessCounters, access_counter, nullptr))
        log("ahci: no room for the device counters");
    return Status::Ok;
}

}  // namespace

constinit pci::PciDriver const kAhciDriver{"ahci", prepare, matches, attach, finish};

}  // namespace tv::ata
