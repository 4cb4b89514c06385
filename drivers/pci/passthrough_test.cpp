// `mmio_passthrough_test=ahci,e1000` on the monitor command line: claim the whole AHCI
// register BAR (ABAR, BAR5 of a SATA AHCI controller) and/or BAR0 of an Intel e1000 with a
// hook that only counts and passes every access through. A real driver then runs with
// every one of its register accesses emulated: the proof that the MMIO path is transparent.
#include <string.h>

#include "core/boot_info.hpp"
#include "core/log.hpp"
#include "drivers/pci/passthrough_test.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

MmioAction pass(void*, Vcpu&, Gpa, u8, bool, u64*) { return MmioAction::PassThrough; }

Status hook_bar(Function const* f, u8 bar, char const* name) {
    if (!f) {
        log("mmio-test: no %s device", name);
        return Status::NotFound;
    }
    Bar const& b = f->bars[bar];
    if (b.kind != BarKind::Mem32 && b.kind != BarKind::Mem64) {
        log("mmio-test: %s has no memory BAR%u", name, bar);
        return Status::NotFound;
    }
    MmioHookId id;
    Status s = mmio_hook_register(Gpa{b.base}, b.size, pass, nullptr, name, &id);
    if (ok(s)) s = pci_bar_follow(f->bdf, bar, id);
    return s;
}

constexpr u8 kClassStorage = 0x01, kSubclassSata = 0x06, kProgIfAhci = 0x01, kAbar = 5;
constexpr u16 kIntel = 0x8086, kE1000_82540em = 0x100E;

}  // namespace

Status passthrough_test_install() {
    char buf[64];
    char const* v = cmdline_value("mmio_passthrough_test", buf, sizeof buf);
    if (!v) return Status::Ok;
    Status s = Status::Ok;
    if (strstr(v, "ahci")) s = hook_bar(pci_find_class(kClassStorage, kSubclassSata, kProgIfAhci), kAbar, "ahci-abar");
    if (ok(s) && strstr(v, "e1000")) s = hook_bar(pci_find_id(kIntel, kE1000_82540em), 0, "e1000-bar0");
    return s;
}

}  // namespace tv::pci
