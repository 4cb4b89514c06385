// A mediator's MMIO hook on a memory BAR of its PCI function, kept on the BAR wherever the guest
// moves it: one call for every mediator (ahci, e1000, xhci, ehci), which each repeated the
// register-then-follow sequence and its "already hooked" line.
#pragma once

#include "core/log.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

// mmio_hook_register on BAR `bar` of f under dev's lock, then pci_bar_follow. Exists, with the
// log line "WHO: BARn already hooked; not mediated", when another hook holds those pages (the
// MMIO pass-through test driver, say): what that means is the caller's to decide.
[[nodiscard]] inline Status pci_bar_hook(Device& dev, Function const& f, u8 bar, MmioHandler fn, void* ctx,
                                         char const* hook_name, char const* who, MmioHookId* id) {
    Bar const& b = f.bars[bar];
    Status s = mmio_hook_register(dev, Gpa{b.base}, b.size, fn, ctx, hook_name, id);
    if (s == Status::Exists) {
        log("%s: BAR%u already hooked; not mediated", who, static_cast<unsigned>(bar));
        return s;
    }
    if (ok(s)) s = pci_bar_follow(f.bdf, bar, *id);
    return s;
}

}  // namespace tv::pci
