// Hooks on PCI configuration space, keyed by function and register range, for mediators
// (hide a capability, pin a command bit, follow a BAR). The monitor intercepts the guest's
// configuration data port accesses (CFC-CFF) only when at least one hook exists: each
// intercepted access costs a VM exit, and the guest makes tens of thousands at boot.
#pragma once

#include "core/vcpu.hpp"
#include "drivers/pci/pci.hpp"

namespace tv::pci {

enum class ConfigAction : u8 {
    PassThrough,  // perform the access on the device (a write with *value as changed)
    Handled,      // done; for a read, *value is what the guest reads
};

// reg: byte offset of the access, size 1, 2 or 4. For a write *value holds the guest's data.
using ConfigHandler = ConfigAction (*)(void* ctx, Vcpu& v, Bdf bdf, u16 reg, u8 size, bool write, u32* value);

struct ConfigHook {
    Bdf bdf;
    u16 first, count;  // registers [first, first + count)
    ConfigHandler fn;
    void* ctx;
    char const* name;
    u64 hits;
};

// Which hook an access reaches: the one whose register range the access overlaps. Pure.
class ConfigRouter {
  public:
    static constexpr size_t kMaxHooks = 32;
    // Invalid for an empty range or one past the 4 KiB configuration space, Exists when it
    // overlaps another hook of the same function, NoMemory when full.
    [[nodiscard]] Status add(ConfigHook const& h);
    ConfigHook* find(Bdf b, u16 reg, u8 size);
    size_t count() const { return n_; }
    ConfigHook const& at(size_t i) const { return hooks_[i]; }

  private:
    ConfigHook hooks_[kMaxHooks]{};
    size_t n_{0};
};

}  // namespace tv::pci
