// The PCI driver registry: every mediator that takes PCI functions is a PciDriver here, and
// the registry alone walks the functions found at boot, offers each to the drivers in their
// order, and records who owns what. No mediator scans PCI itself, and none asks another
// whether it owns a device: a function (or a part of one, such as one IDE channel) that a
// driver took is not offered to the next.
//
// Order (drivers/pci/pci_drivers.cpp): a driver is prepared, offered every function it
// matches, and finished before the next driver starts, so a later driver sees what an
// earlier one took (the AoE disk takes the IDE function's primary channel before the IDE
// mediator is offered the rest).
#pragma once

#include <stddef.h>

// The bus itself, not a mediator: the registry matches drivers on its enumeration.
#include "drivers/pci/pci.hpp"

namespace tv::pci {

// Parts of one function that drivers own separately. A driver that takes a device whole
// takes kAllParts.
inline constexpr u8 kAllParts = 0xFF;
inline constexpr u8 kIdePrimary = 1u << 0;    // IDE: the primary channel (and bus-master channel 0)
inline constexpr u8 kIdeSecondary = 1u << 1;  // IDE: the secondary channel (bus-master channel 1)

class PciRegistry;

// What a driver's attach() may take of the function it is offered.
class PciClaim {
  public:
    // Takes `parts` for this driver: true when none of them belonged to another driver.
    [[nodiscard]] bool take(u8 parts);
    u8 free_parts() const;

  private:
    friend class PciRegistry;
    PciClaim(PciRegistry& r, size_t fn, u8 driver) : r_(r), fn_(fn), driver_(driver) {}
    PciRegistry& r_;
    size_t fn_;
    u8 driver_;
};

struct PciDriver {
    char const* name;
    // Before any function is offered; *active = false when this machine does not want the
    // driver (its configuration section is absent, say): it is then skipped. May be null.
    Status (*prepare)(bool* active);
    // Whether the driver handles this function (IDs, class); pure.
    bool (*matches)(Function const& f);
    // Takes what it mediates of a matched function that still has free parts. An error stops
    // the boot (the guest would run unprotected).
    Status (*attach)(Function const& f, PciClaim& claim);
    // After every function was offered (even when none matched). May be null.
    Status (*finish)();
};

class PciRegistry {
  public:
    static constexpr size_t kMaxDrivers = 8;
    static constexpr size_t kMaxFunctions = 256;

    [[nodiscard]] Status add(PciDriver const* d);
    // Runs every driver over the functions, in order; the first error stops it (and is
    // returned, with *failed naming the driver).
    [[nodiscard]] Status attach_all(Function const* fns, size_t n, char const** failed);

    // The driver that owns `part` of function b, or nullptr.
    PciDriver const* owner(Bdf b, u8 part) const;

  private:
    friend class PciClaim;
    static constexpr u8 kNobody = 0xFF;
    struct Owners {
        u8 driver[8];  // per part bit: index of the owning driver, or kNobody
    };
    Status run(u8 driver, Function const* fns, size_t n);

    PciDriver const* drivers_[kMaxDrivers]{};
    size_t ndrivers_{0};
    Function const* fns_{nullptr};
    size_t nfns_{0};
    Owners owners_[kMaxFunctions]{};
};

}  // namespace tv::pci
