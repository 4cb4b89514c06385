// A device the monitor mediates, as the hook registries see it: the one lock under which
// every hook of the device runs (its I/O ports, its MMIO ranges, its PCI configuration
// registers), and the pass-through of an access the hook hands back to the hardware. A
// mediator keeps one Device for all its state, so a register reached by two routes (AHCI's
// ABAR and its index/data ports) is reached under the same lock.
//
// Lock order: a device's lock is taken first; inside it a hook may take only leaf locks
// (the PCI configuration ports' latch, the nested page tables, the log). A hook never calls
// another device's hook.
#pragma once

#include "core/types.hpp"
#include "lib/spinlock.hpp"

namespace tv {

class Device {
  public:
    constexpr explicit Device(char const* name) : name_(name) {}
    constexpr Device() = default;  // for pools; name() is "device"
    Device(Device const&) = delete;
    Device& operator=(Device const&) = delete;

    char const* name() const { return name_; }
    SpinLock& lock() { return lock_; }
    bool locked() const { return lock_.held(); }

  private:
    char const* name_ = "device";
    SpinLock lock_;
};

// Runs the scope under the device's lock.
class DeviceGuard {
  public:
    explicit DeviceGuard(Device& d) : guard_(d.lock()) {}

  private:
    LockGuard guard_;
};

}  // namespace tv
