// The EHCI mediator's place in the monitor: PCI discovery, the BAR0 hook, the device policy
// ([usb]) for the mass-storage path, monitor memory for the shadow, the monitor clock's tick that
// picks up what the guest queued, and the EhciEnv that reaches the real controller.
#include <stdio.h>

#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/device/guest_memory.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/memory.hpp"
#include "core/mmio_hooks.hpp"
#include "core/timer.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/usb/ehci_controller.hpp"
#include "drivers/usb/ehci_mediator.hpp"
#include "drivers/usb/usb_policy.hpp"
#include "lib/new.hpp"
#include "drivers/pci/bar_hook.hpp"

namespace tv::usb {

namespace {

constexpr u8 kClassSerial = 0x0C, kSubclassUsb = 0x03, kProgIfEhci = 0x20;
constexpr u32 kMaxControllers = 2;
// How often the shadow picks up qTDs the guest queued without touching a register: EHCI has
// no doorbell for them. QEMU's controller polls its schedule every 1 to 64 ms.
constexpr u64 kTickUs = 1'000;

class MonitorGuest final : public GuestView {
  public:
    bool ok(Gpa gpa, u64 len) const override { return guest_memory().ok(gpa, len); }
    bool read(Gpa gpa, void* dst, u64 len) const override { return guest_memory().read(gpa, dst, len); }
    bool write(Gpa gpa, void const* src, u64 len) const override { return guest_memory().write(gpa, src, len); }
};

class MonitorEnv final : public EhciEnv {
  public:
    u32 dev_read(u32 off, u8 size) override {
        u64 v = 0;
        if (!mmio_device_access(Gpa{mmio_hook_base(hook).raw + off}, size, false, &v)) return ~0u;
        return static_cast<u32>(v);
    }
    void dev_write(u32 off, u8 size, u32 value) override {
        u64 v = value;
        (void)mmio_device_access(Gpa{mmio_hook_base(hook).raw + off}, size, true, &v);
    }
    GuestView const& guest() override { return guest_view; }
    void refused(char const* what, char const* why) override {
        char cause[160];
        snprintf(cause, sizeof cause, "refused %s: %s", what, why);
        if (log_limit_allow(name, cause)) log("%s: %s", name, cause);
    }
    void note(char const* what) override { log("%s: %s", name, what); }
    void delay_us(u32 us) override { clock_delay_us(us); }
    UsbRule usb_rule(UsbIdentity const& id, bool serial_read) override {
        Config const* cfg = config();
        return usb_rule_for(cfg ? &cfg->usb : nullptr, id, serial_read);
    }

    MmioHookId hook{};
    MonitorGuest guest_view{};
    char name[24]{};
};

struct Controller {
    MonitorEnv env;
    EhciController* ehci{nullptr};  // in monitor pages: its shadow bookkeeping is large
    EhciController* object{nullptr};  // the same pages, also when the controller was not taken
    u8* dma{nullptr};  // the shadow's pages (kept also when the controller was not taken)
    Device device{"ehci"};
};

constinit Controller g_ctrl[kMaxControllers];
constinit u32 g_count = 0;

MmioAction bar0_access(void* ctx, Vcpu&, Gpa gpa, u8 size, bool write, u64* value) {
    Controller& c = *static_cast<Controller*>(ctx);
    u32 const off = static_cast<u32>(gpa.raw - mmio_hook_base(c.env.hook).raw);
    if (!c.ehci) {  // not taken (install_one): the guest never reaches its registers
        if (!write) *value = ~u64{0};
        return MmioAction::Handled;
    }
    if (write) c.ehci->write(off, size, static_cast<u32>(*value));
    else *value = c.ehci->read(off, size);
    return MmioAction::Handled;
}

void tick_all() {
    for (u32 i = 0; i < g_count; ++i) {
        DeviceGuard lock(g_ctrl[i].device);
        if (g_ctrl[i].ehci) g_ctrl[i].ehci->tick();
    }
}

Status install_one(pci::Function const& f) {
    pci::Bar const& b = f.bars[0];
    if (b.kind != pci::BarKind::Mem32 && b.kind != pci::BarKind::Mem64) return Status::NotFound;
    if (g_count == kMaxControllers) return Status::NoMemory;
    Controller& c = g_ctrl[g_count];
    snprintf(c.env.name, sizeof c.env.name, "ehci %02x:%02x.%u", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    Status s = pci::pci_bar_hook(c.device, f, 0, bar0_access, &c, "ehci-mediator", c.env.name, &c.env.hook);
    if (s == Status::Exists) return Status::Ok;
    if (!ok(s)) return s;
    ++g_count;
    Hpa const dma = alloc_pages(EhciController::kDmaPages);
    Hpa const obj = alloc_pages(align_up(sizeof(EhciController), kPageSize) / kPageSize);
    if (!dma.raw || !obj.raw) return Status::NoMemory;
    c.dma = static_cast<u8*>(hpa_virt(dma));
    auto* e = c.object = new (hpa_virt(obj)) EhciController();
    DeviceGuard lock(c.device);
    if (!e->init(&c.env, DmaMem{static_cast<u8*>(hpa_virt(dma)), dma})) {
        log("%s: 64-bit addressing or shadow memory above 4 GiB: not mediated, its registers hidden", c.env.name);
        return Status::Ok;
    }
    c.ehci = e;
    bool const up = c.ehci->take_over();
    log("%s: mediated (async and periodic schedules shadowed, mass storage followed)%s", c.env.name,
        up ? "" : "; the controller did not come back from reset");
    return Status::Ok;
}

void log_periodic_counters(char const* name, EhciPeriodic const& p) {
    EhciCounters const& k = p.pool_counters();
    EhciPeriodicCounters const& c = p.counters();
    log("%s: periodic: %llu syncs, %llu queue heads linked, %llu qTDs given, %llu completed, %llu iTDs/siTDs/FSTNs "
        "skipped, %llu refused", name, static_cast<unsigned long long>(c.syncs),
        static_cast<unsigned long long>(k.qh_linked), static_cast<unsigned long long>(k.qtds_copied),
        static_cast<unsigned long long>(k.completions), static_cast<unsigned long long>(c.skipped),
        static_cast<unsigned long long>(c.refused + k.refused));
}

void log_counters() {
    for (u32 i = 0; i < g_count; ++i) {
        if (!g_ctrl[i].ehci) continue;
        EhciCounters const& k = g_ctrl[i].ehci->schedule().counters();
        EhciRegCounters const& r = g_ctrl[i].ehci->counters();
        log("%s: %llu syncs (%llu ticks), %llu queue heads linked, %llu qTDs given, %llu completed, %llu doorbells, "
            "%llu refused", g_ctrl[i].env.name, static_cast<unsigned long long>(k.syncs),
            static_cast<unsigned long long>(r.ticks), static_cast<unsigned long long>(k.qh_linked),
            static_cast<unsigned long long>(k.qtds_copied), static_cast<unsigned long long>(k.completions),
            static_cast<unsigned long long>(r.doorbells), static_cast<unsigned long long>(k.refused + r.refused));
        log_periodic_counters(g_ctrl[i].env.name, g_ctrl[i].ehci->periodic());
    }
}

bool matches(pci::Function const& f) {
    return f.class_code == kClassSerial && f.subclass == kSubclassUsb && f.prog_if == kProgIfEhci;
}

Status attach(pci::Function const& f, pci::PciClaim& claim) {
    return claim.take(pci::kAllParts) ? install_one(f) : Status::Ok;
}

Status prepare(bool* active) {
    *active = true;
    return Status::Ok;
}

Status finish() {
    if (!g_count) return Status::Ok;
    if (!power_off_log_register(log_counters)) log("ehci: no room for the power-off log");
    if (!timer_add_periodic(tick_all, kTickUs)) log("ehci: no room for the tick: new transfers wait for a register access");
    log_limit_install();
    return Status::Ok;
}

}  // namespace

constinit pci::PciDriver const kEhciDriver{"ehci", prepare, matches, attach, finish};

}  // namespace tv::usb
