// Hooks on PCI configuration space, keyed by function and register range, for mediators
// (hide a capability, pin a command bit, follow a BAR). The monitor intercepts the guest's
// configuration data port accesses (CFC-CFF) only when at least one hook exists: each
// intercepted access costs a VM exit, and the guest makes tens of thousands at boot.
#pragma once

#include "core/device/device.hpp"
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
    Device* device;  // the handler and its pass-through run under this device's lock
};

// Configuration space as a sized access (what a hook's PassThrough performs).
class ConfigBus {
  public:
    virtual u32 read(Bdf b, u16 reg, u8 size) = 0;
    virtual void write(Bdf b, u16 reg, u8 size, u32 value) = 0;

  protected:
    ~ConfigBus() = default;
};

// Which hook an access reaches: the one whose register range the access overlaps. Pure.
class ConfigRouter {
  public:
    static constexpr size_t kMaxHooks = 64;
    // Invalid for an empty range or one past the 4 KiB configuration space, Exists when it
    // overlaps another hook of the same function, NoMemory when full.
    [[nodiscard]] Status add(ConfigHook const& h);
    ConfigHook* find(Bdf b, u16 reg, u8 size);
    // A guest access through either route (ports or ECAM): when a hook covers it, the hook
    // runs under its device's lock and what it passes through is performed on bus under that
    // lock too; true. False, with nothing done, when no hook covers it.
    [[nodiscard]] bool route(Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value, ConfigBus& bus);
    size_t count() const { return n_; }
    ConfigHook const& at(size_t i) const { return hooks_[i]; }

  private:
    ConfigHook hooks_[kMaxHooks]{};
    size_t n_{0};
};

}  // namespace tv::pci
