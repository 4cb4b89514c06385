// `mmio_passthrough_test=ahci,e1000` on the monitor command line: claim the whole AHCI
// register BAR (ABAR, BAR5 of a SATA AHCI controller) and/or BAR0 of an Intel e1000 with a
// hook that only counts and passes every access through. A real driver then runs with
// every one of its register accesses emulated: the proof that the MMIO path is transparent.
// `ecam` adds a configuration hook on register 0xFF0 of the first PCI-to-PCI bridge (a PCIe
// root port): Linux reaches registers past 0xFF only through the ECAM window, so the guest's
// accesses there prove that the window routes to the configuration hooks.
#include <string.h>

#include "core/boot_info.hpp"
#include "core/log.hpp"
#include "drivers/pci/passthrough_test.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

MmioAction pass(void*, Vcpu&, Gpa, u8, bool, u64*) { return MmioAction::PassThrough; }

Status hook_bar(Function const& f, u8 bar, char const* name) {
    Bar const& b = f.bars[bar];
    if (b.kind != BarKind::Mem32 && b.kind != BarKind::Mem64) {
        log("mmio-test: %s has no memory BAR%u", name, bar);
        return Status::NotFound;
    }
    MmioHookId id;
    Status s = mmio_hook_register(Gpa{b.base}, b.size, pass, nullptr, name, &id);
    if (ok(s)) s = pci_bar_follow(f.bdf, bar, id);
    return s;
}

constexpr u16 kEcamTestReg = 0xFF0;
constexpr u32 kEcamTestAnswer = 0x0001EC4D;  // what the guest reads there: an unknown extended capability, last in the list
constinit Device g_ecam_test_device{"ecam-test"};

ConfigAction ecam_test(void*, Vcpu&, Bdf b, u16 reg, u8 size, bool write, u32* value) {
    if (write) log("mmio-test: %02x:%02x.%u register %#x: write of %#x (%u bytes) reached its hook", b.bus, b.dev, b.fn,
                   reg, *value, size);
    else *value = reg == kEcamTestReg && size == 4 ? kEcamTestAnswer : 0;
    return ConfigAction::Handled;
}

Status hook_ecam_test() {
    Function const* f = pci_find_class(0x06, 0x04, 0xFF);
    if (!f) {
        log("mmio-test: no PCI-to-PCI bridge for the ECAM test");
        return Status::NotFound;
    }
    log("mmio-test: ECAM test hook on %02x:%02x.%u register %#x", f->bdf.bus, f->bdf.dev, f->bdf.fn, kEcamTestReg);
    return pci_config_hook_register(g_ecam_test_device, f->bdf, kEcamTestReg, 4, ecam_test, nullptr, "ecam-test");
}

constexpr u8 kClassStorage = 0x01, kSubclassSata = 0x06, kProgIfAhci = 0x01, kAbar = 5;
constexpr u16 kIntel = 0x8086, kE1000_82540em = 0x100E;

bool is_ahci(Function const& f) {
    return f.class_code == kClassStorage && f.subclass == kSubclassSata && f.prog_if == kProgIfAhci;
}
bool is_e1000(Function const& f) { return f.vendor == kIntel && f.device == kE1000_82540em; }

// Asked for on the command line, and done: the first device of each kind only.
constinit bool g_want_ahci = false, g_want_e1000 = false, g_ahci = false, g_e1000 = false;

Status prepare(bool* active) {
    char buf[64];
    char const* v = cmdline_value("mmio_passthrough_test", buf, sizeof buf);
    g_want_ahci = v && strstr(v, "ahci");
    g_want_e1000 = v && strstr(v, "e1000");
    *active = g_want_ahci || g_want_e1000;
    return v && strstr(v, "ecam") ? hook_ecam_test() : Status::Ok;
}

bool matches(Function const& f) { return (g_want_ahci && is_ahci(f)) || (g_want_e1000 && is_e1000(f)); }

// The device is taken whole, so its mediator is never offered it.
Status attach(Function const& f, PciClaim& claim) {
    bool& done = is_ahci(f) ? g_ahci : g_e1000;
    if (done || !claim.take(kAllParts)) return Status::Ok;
    done = true;
    return is_ahci(f) ? hook_bar(f, kAbar, "ahci-abar") : hook_bar(f, 0, "e1000-bar0");
}

Status finish() {
    if (g_want_ahci && !g_ahci) log("mmio-test: no %s device", "ahci-abar");
    if (g_want_e1000 && !g_e1000) log("mmio-test: no %s device", "e1000-bar0");
    return (g_want_ahci && !g_ahci) || (g_want_e1000 && !g_e1000) ? Status::NotFound : Status::Ok;
}

}  // namespace

constinit PciDriver const kPassthroughTestDriver{"mmio-passthrough-test", prepare, matches, attach, finish};

}  // namespace tv::pci
