// The ECAM pages of hooked functions are MMIO hooks: every access there faults, the
// instruction emulator decodes it, and a register some configuration hook covers is routed
// to that hook exactly as a CFC access would be (pci_config_route: under the function's
// device lock). The rest of the page is passed through to the real window. Functions
// without hooks keep their pages mapped and cost no exits.
#include "drivers/pci/ecam.hpp"

#include "core/acpi.hpp"
#include "core/log.hpp"
#include "core/mmio_hooks.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

constexpr size_t kMaxPages = 32;  // functions with hooks: mediated ones and those the bus-master policy gates
constexpr u16 kIntel = 0x8086, kQ35Mch = 0x29C0;
constexpr u16 kPciexbar = 0x60;  // Q35 MCH: 64-bit, bit 0 enables, bits 2:1 the bus count

EcamWindow g_ecam;
bool g_have_ecam;
// The window routes to the functions' hooks: a device of its own, locked before theirs.
constinit Device g_ecam_device{"pci-ecam"};
constinit Device g_mch_device{"q35-mch"};
u32 g_pciexbar_lo, g_pciexbar_hi;
u32 g_pin_logs;

MmioAction ecam_access(void*, Vcpu& v, Gpa gpa, u8 size, bool write, u64* value) {
    Bdf b{};
    u16 reg = 0;
    if (!ecam_decode(g_ecam, gpa.raw, &b, &reg)) return MmioAction::PassThrough;
    if (size == 8) {  // no configuration register is 8 bytes wide: two dword accesses
        for (u32 half = 0; half < 2; ++half) {
            u32 part = static_cast<u32>(*value >> (32 * half));
            if (!pci_config_route(v, b, static_cast<u16>(reg + 4 * half), 4, write, &part)) {
                u64 raw = part;
                (void)mmio_device_access(Gpa{gpa.raw + 4 * half}, 4, write, &raw);
                part = static_cast<u32>(raw);
            }
            if (!write) *value = (*value & ~(0xFFFFFFFFull << (32 * half))) | static_cast<u64>(part) << (32 * half);
        }
        return MmioAction::Handled;
    }
    u32 part = static_cast<u32>(*value);
    if (!pci_config_route(v, b, reg, size, write, &part)) return MmioAction::PassThrough;
    if (!write) *value = part;
    return MmioAction::Handled;
}

// PCIEXBAR stays as the firmware left it: moved, the window would leave its hooks behind.
ConfigAction pciexbar_pin(void*, Vcpu&, Bdf, u16 reg, u8 size, bool write, u32* value) {
    if (!write) return ConfigAction::PassThrough;
    u16 const dword = reg & ~3u;
    u32 const shift = (reg & 3u) * 8;
    u32 const mask = (size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu) << shift;
    u32 const keep = dword == kPciexbar ? g_pciexbar_lo : g_pciexbar_hi;
    if (((*value << shift) & mask) != (keep & mask) && g_pin_logs++ < 8)
        log("pci: guest write %#x to PCIEXBAR+%u refused: the ECAM window stays at %#llx", *value, reg - kPciexbar,
            static_cast<unsigned long long>(g_ecam.base));
    return ConfigAction::Handled;
}

}  // namespace

Status ecam_pin_window(ConfigRouter const& router) {
    if (router.count() == 0) return Status::Ok;
    AcpiEcam e{};
    if (!acpi_find_ecam(&e)) {
        log("pci: no MCFG: configuration space only through the ports");
        return Status::Ok;
    }
    g_ecam = EcamWindow{e.base, e.start_bus, e.end_bus};
    g_have_ecam = true;
    Bdf const host{0, 0, 0};
    Function const* mch = pci_find_id(kIntel, kQ35Mch);
    if (!mch || !(mch->bdf == host)) {
        log("pci: ECAM at %#llx (buses %u-%u); no known register moves it", static_cast<unsigned long long>(e.base),
            e.start_bus, e.end_bus);
        return Status::Ok;
    }
    g_pciexbar_lo = pci_config_read(host, kPciexbar, 4);
    g_pciexbar_hi = pci_config_read(host, kPciexbar + 4, 4);
    log("pci: ECAM at %#llx (buses %u-%u); Q35 PCIEXBAR %#x:%08x pinned", static_cast<unsigned long long>(e.base),
        e.start_bus, e.end_bus, g_pciexbar_hi, g_pciexbar_lo);
    return pci_config_hook_register(g_mch_device, host, kPciexbar, 8, pciexbar_pin, nullptr, "pciexbar-pin");
}

Status ecam_install(ConfigRouter const& router) {
    if (!g_have_ecam) return Status::Ok;
    Bdf done[kMaxPages];
    size_t n = 0;
    for (size_t i = 0; i < router.count(); ++i) {
        Bdf const b = router.at(i).bdf;
        bool seen = false;
        for (size_t j = 0; j < n; ++j) seen = seen || done[j] == b;
        if (seen || b.bus < g_ecam.start_bus || b.bus > g_ecam.end_bus) continue;
        if (n == kMaxPages) return Status::NoMemory;
        done[n++] = b;
        Status const s = mmio_hook_register(g_ecam_device, Gpa{ecam_page(g_ecam, b)}, kPageSize, ecam_access, nullptr,
                                            "pci-ecam");
        if (!ok(s)) return s;
    }
    log("pci: ECAM pages of %u hooked functions mediated, the rest passed through", static_cast<unsigned>(n));
    return Status::Ok;
}

}  // namespace tv::pci
