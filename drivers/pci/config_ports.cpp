// The guest's configuration mechanism #1 ports. CF8-CFB are always claimed: the address
// dword must be tracked (the data port's meaning depends on it) and CF9, reset control,
// shares that dword. CFC-CFF are claimed only when a configuration hook exists, and even
// then a vCPU exits on them only while the address it last wrote names a hooked dword: a
// Linux boot writes CF8 about 25,000 times, and intercepting every data access too doubled
// the exits for the sake of a few dozen hooked registers.
#include "core/arch/x86/cpu.hpp"
#include "core/handlers/power.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"
#include "core/smp.hpp"
#include "lib/spinlock.hpp"
#include "drivers/pci/ecam.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

constexpr u16 kAddressPort = 0xCF8, kDataPort = 0xCFC;

ConfigRouter g_router;
u32 g_guest_cf8;       // the guest's last address dword: what CF8 holds whenever the guest runs
bool g_ports_installed;
bool g_data_claimed;
// The ports route the guest's accesses to the functions' hooks: a device of their own, whose
// lock is taken before the function's (core/device/device.hpp).
constinit Device g_ports_device{"pci-config-ports"};
// CF8 is one latch for every CPU and for the monitor: each address-then-data pair, the
// guest's or the monitor's own, runs under this leaf lock, so no pair is ever torn.
constinit SpinLock g_latch;

u32 port_in(u16 port, u8 size) {
    return size == 1 ? x86::inb(port) : size == 2 ? x86::inw(port) : x86::inl(port);
}

void port_out(u16 port, u8 size, u32 v) {
    if (size == 1) x86::outb(port, static_cast<u8>(v));
    else if (size == 2) x86::outw(port, static_cast<u16>(v));
    else x86::outl(port, v);
}

// The guest's data-port access on the device, with CF8 holding the guest's address.
void guest_data_access(IoExit const& io, u32* value) {
    LockGuard latch(g_latch);
    x86::outl(kAddressPort, g_guest_cf8);
    if (io.in) *value = port_in(io.port, io.size);
    else port_out(io.port, io.size, *value);
}

IoAction data_port(Vcpu& v, IoExit const& io, u32* value) {
    ConfigAccess const a = decode_config_address(g_guest_cf8, io.port);
    if (a.enabled && pci_config_route(v, a.bdf, a.reg, io.size, !io.in, value)) return IoAction::Handled;
    guest_data_access(io, value);
    return IoAction::Handled;
}

// Whether the data ports reach a hooked register while CF8 holds `cf8`.
bool hooked(u32 cf8) {
    ConfigAccess const a = decode_config_address(cf8, kDataPort);
    return a.enabled && g_router.find(a.bdf, a.reg, 4) != nullptr;
}

IoAction config_ports(void*, Vcpu& v, IoExit const& io, u32* value) {
    if (io.port >= kDataPort) return data_port(v, io, value);
    if (io.port == kAddressPort && io.size == 4) {
        LockGuard latch(g_latch);
        if (io.in) {
            *value = x86::inl(kAddressPort);
            return IoAction::Handled;
        }
        g_guest_cf8 = *value;
        x86::outl(kAddressPort, *value);
        // CF8 is one latch for all CPUs, but the bitmap is this vCPU's: with several, another
        // vCPU whose data ports pass through would reach the dword named here unhooked
        // (e.g. move a pinned IDE BAR). So the data ports switch only with one CPU.
        if (g_data_claimed && smp_cpu_count() == 1) v.set_io_intercept(kDataPort, 4, hooked(g_guest_cf8));
        return IoAction::Handled;
    }
    power_reset_control_access(io, *value);  // byte and word accesses: CF9 is reset control
    return IoAction::PassThrough;
}

class MonitorConfigBus final : public ConfigBus {
  public:
    u32 read(Bdf b, u16 reg, u8 size) override { return pci_config_read(b, reg, size); }
    void write(Bdf b, u16 reg, u8 size, u32 value) override { pci_config_write(b, reg, size, value); }
};
MonitorConfigBus g_config_bus;

}  // namespace

bool pci_config_route(Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value) {
    return g_router.route(v, b, reg, size, write, value, g_config_bus);
}

u32 pci_config_read(Bdf b, u16 reg, u8 size) {
    LockGuard latch(g_latch);
    x86::outl(kAddressPort, config_address(b, reg));
    u32 const v = port_in(static_cast<u16>(kDataPort + (reg & 3)), size);
    x86::outl(kAddressPort, g_guest_cf8);
    return v;
}

void pci_config_write(Bdf b, u16 reg, u8 size, u32 value) {
    LockGuard latch(g_latch);
    x86::outl(kAddressPort, config_address(b, reg));
    port_out(static_cast<u16>(kDataPort + (reg & 3)), size, value);
    x86::outl(kAddressPort, g_guest_cf8);
}

Status pci_config_hook_register(Device& dev, Bdf b, u16 first_reg, u16 count, ConfigHandler fn, void* ctx,
                                char const* name) {
    if (g_ports_installed) return Status::Invalid;  // the data ports' intercepts are fixed by now
    return g_router.add(ConfigHook{b, first_reg, count, fn, ctx, name, 0, &dev});
}

Status pci_ports_install() {
    g_guest_cf8 = x86::inl(kAddressPort);  // whatever the firmware left there
    if (Status s = ecam_pin_window(g_router); !ok(s)) return s;
    g_ports_installed = true;
    g_data_claimed = g_router.count() != 0;
    // Two hooks, so that a wide access at CF9-CFB that reaches into CFC-CFF is split into
    // bytes by the I/O router and its data bytes reach the configuration hooks.
    Status s = io_hook_register(g_ports_device, kAddressPort, 4, config_ports, nullptr, "pci-address");
    if (ok(s) && g_data_claimed) s = io_hook_register(g_ports_device, kDataPort, 4, config_ports, nullptr, "pci-data");
    log("pci: %u configuration hooks; data ports CFC-CFF %s", static_cast<unsigned>(g_router.count()),
        g_data_claimed ? "intercepted while CF8 names a hooked register" : "left to the guest (no exits)");
    for (size_t i = 0; i < g_router.count(); ++i) {
        ConfigHook const& h = g_router.at(i);
        log("pci: config hook %s on %02x:%02x.%u registers %#x-%#x", h.name, h.bdf.bus, h.bdf.dev, h.bdf.fn, h.first,
            h.first + h.count - 1);
    }
    if (ok(s)) s = ecam_install(g_router);
    return s;
}

}  // namespace tv::pci
