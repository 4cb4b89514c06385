// The xHCI mediator's place in the monitor: PCI discovery, the BAR0 hook (with the MSI-X
// table's delivery-mode guard, since the table shares the BAR), monitor memory for the
// shadows and scratchpads, and the XhciEnv that reaches the real controller and guest RAM.
#include <stdio.h>

#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/device/guest_memory.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/memory.hpp"
#include "core/mmio_hooks.hpp"
#include "drivers/pci/msi_guard.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/usb/xhci_controller.hpp"
#include "drivers/usb/usb_policy.hpp"
#include "drivers/usb/host/kept_reader.hpp"
#include "drivers/usb/xhci_mediator.hpp"
#include "storage/key_table.hpp"
#include "lib/new.hpp"
#include "drivers/pci/bar_hook.hpp"

namespace tv::usb {

namespace {

constexpr u8 kClassSerial = 0x0C, kSubclassUsb = 0x03, kProgIfXhci = 0x30;
constexpr u32 kMaxControllers = 2;
constexpr u32 kMaxScratchpads = kPageSize / sizeof(u64);

class MonitorGuest final : public GuestView {
  public:
    bool ok(Gpa gpa, u64 len) const override { return guest_memory().ok(gpa, len); }
    bool read(Gpa gpa, void* dst, u64 len) const override { return guest_memory().read(gpa, dst, len); }
    bool write(Gpa gpa, void const* src, u64 len) const override { return guest_memory().write(gpa, src, len); }
};

class MonitorEnv final : public XhciEnv {
  public:
    u64 dev_read(u32 off, u8 size) override {
        u64 v = 0;
        if (!mmio_device_access(Gpa{mmio_hook_base(hook).raw + off}, size, false, &v)) return ~u64{0};
        return v;
    }
    void dev_write(u32 off, u8 size, u64 value) override {
        (void)mmio_device_access(Gpa{mmio_hook_base(hook).raw + off}, size, true, &value);
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
    XhciController* xhci{nullptr};  // in monitor pages: its shadow bookkeeping is large
    u64 msix_table{0}, msix_len{0};  // the MSI-X table when it lives in BAR0 (len 0: not)
    Device device{"xhci"};
};

constinit Controller g_ctrl[kMaxControllers];
constinit u32 g_count = 0;

class MonitorConfigSpace final : public pci::ConfigSpace {
  public:
    u32 read32(pci::Bdf b, u16 reg) override { return pci::pci_config_read(b, reg, 4); }
    void write32(pci::Bdf b, u16 reg, u32 value) override { pci::pci_config_write(b, reg, 4, value); }
};

MmioAction bar0_access(void* ctx, Vcpu&, Gpa gpa, u8 size, bool write, u64* value) {
    Controller& c = *static_cast<Controller*>(ctx);
    u32 const off = static_cast<u32>(gpa.raw - mmio_hook_base(c.env.hook).raw);
    if (!write) {
        *value = c.xhci->read(off, size);
        return MmioAction::Handled;
    }
    Delivery mode{};
    if (c.msix_len && pci::strip_msix_delivery(c.msix_table, c.msix_len, off, size, value, &mode))
        c.env.refused("MSI-X entry", "INIT/SMI delivery (written as fixed)");
    c.xhci->write(off, size, *value);
    return MmioAction::Handled;
}

// The MSI-X guard cannot hook a BAR the mediator holds: the mediator applies its rule itself.
void find_msix(Controller& c, pci::Function const& f) {
    MonitorConfigSpace cs;
    u16 const cap = pci::find_capability(cs, f.bdf, pci::kCapMsix);
    if (!cap) return;
    u32 const control = pci::pci_config_read(f.bdf, static_cast<u16>(cap + 2), 2);
    u32 const where = pci::pci_config_read(f.bdf, static_cast<u16>(cap + 4), 4);
    if ((where & 7) != 0) return;  // in another BAR: drivers/pci/msi_guard_monitor hooks it
    c.msix_table = where & ~u64{7};
    c.msix_len = ((control & 0x7FF) + 1) * u64{16};
}

[[nodiscard]] Hpa scratchpad_array(u32 count) {
    if (!count) return Hpa{0};
    if (count > kMaxScratchpads) return Hpa{~u64{0}};
    Hpa const array = alloc_pages(1);
    Hpa const bufs = alloc_pages(count);
    if (!array.raw || !bufs.raw) return Hpa{~u64{0}};
    auto* entries = static_cast<u64*>(hpa_virt(array));
    for (u32 i = 0; i < count; ++i) entries[i] = bufs.raw + u64{i} * kPageSize;
    return array;
}

Status install_one(pci::Function const& f) {
    pci::Bar const& b = f.bars[0];
    if (b.kind != pci::BarKind::Mem32 && b.kind != pci::BarKind::Mem64) return Status::NotFound;
    if (g_count == kMaxControllers) return Status::NoMemory;
    Controller& c = g_ctrl[g_count];
    snprintf(c.env.name, sizeof c.env.name, "xhci %02x:%02x.%u", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    Status s = pci::pci_bar_hook(c.device, f, 0, bar0_access, &c, "xhci-mediator", c.env.name, &c.env.hook);
    if (s == Status::Exists) return Status::Ok;
    if (!ok(s)) return s;
    ++g_count;
    Hpa const dma = alloc_pages(kDmaPages);
    // Encrypted sticks' media bounces; without them such sticks' media commands are refused.
    Hpa const bounce = alloc_pages(u64{kBounceRegions} * kBounceBytes / kPageSize);
    Hpa const obj = alloc_pages(align_up(sizeof(XhciController), kPageSize) / kPageSize);
    if (!dma.raw || !obj.raw) return Status::NoMemory;
    c.xhci = new (hpa_virt(obj)) XhciController();
    DeviceGuard lock(c.device);
    c.xhci->init(&c.env, DmaMem{static_cast<u8*>(hpa_virt(dma)), dma});
    if (bounce.raw) c.xhci->set_bounce(DmaMem{static_cast<u8*>(hpa_virt(bounce)), bounce}, kBounceRegions);
    else log("%s: no memory for USB storage bounces; encrypted sticks are refused", c.env.name);
    Hpa const scratch = scratchpad_array(c.xhci->scratchpads());
    if (scratch.raw == ~u64{0}) return Status::NoMemory;
    find_msix(c, f);
    bool const up = c.xhci->take_over(scratch);
    u8 port = 0;
    bool hub = false;
    if (host::kept_reader_port(f.bdf, port, hub)) {
        c.xhci->keep_port(port);
        log("%s: root port %u (the card reader%s) is the monitor's: the guest never sees it", c.env.name, port,
            hub ? " behind a hub" : "");
    }
    log("%s: mediated (%u scratchpads, MSI-X table %s)%s", c.env.name, c.xhci->scratchpads(),
        c.msix_len ? "in BAR0, guarded" : "elsewhere or none", up ? "" : "; the controller did not come back from reset");
    return Status::Ok;
}

void log_counters() {
    for (u32 i = 0; i < g_count; ++i) {
        XhciCounters const& k = g_ctrl[i].xhci->counters();
        log("%s: %llu doorbells (%llu command), %llu commands, %llu transfer TRBs, %llu refused, %llu events "
            "(%llu not delivered)", g_ctrl[i].env.name, static_cast<unsigned long long>(k.doorbells),
            static_cast<unsigned long long>(k.command_doorbells), static_cast<unsigned long long>(k.commands),
            static_cast<unsigned long long>(k.trbs), static_cast<unsigned long long>(k.refused),
            static_cast<unsigned long long>(k.events), static_cast<unsigned long long>(k.events_dropped));
    }
}

bool matches(pci::Function const& f) {
    return f.class_code == kClassSerial && f.subclass == kSubclassUsb && f.prog_if == kProgIfXhci;
}

Status attach(pci::Function const& f, pci::PciClaim& claim) { return claim.take(pci::kAllParts) ? install_one(f) : Status::Ok; }

// The keys of [disk.NAME] bus = usb: loaded before any stick can attach a volume.
Status prepare(bool* active) {
    *active = true;
    return storage::load_boot_keys();
}

Status finish() {
    if (g_count && !power_off_log_register(log_counters)) log("xhci: no room for the power-off log");
    if (g_count) log_limit_install();
    return Status::Ok;
}

}  // namespace

constinit pci::PciDriver const kXhciDriver{"xhci", prepare, matches, attach, finish};

}  // namespace tv::usb
