// A device the monitor mediates, as the hook registries see it: the one lock under which
// every hook of the device runs (its I/O ports, its MMIO ranges, its PCI configuration
// registers), and the pass-through of an access the hook hands back to the hardware. A
// mediator keeps one Device for all its state, so a register reached by two routes (AHCI's
// ABAR and its index/data ports) is reached under the same lock.
//
// Lock order: a device's lock is taken first; inside it a hook may take only leaf locks
// (the PCI configuration ports' latch, the nested page tables, the log). A hook never calls
// another device's hook.
//
// The lock is recursive on one CPU: the monitor's own work on a device (the network stack's
// poll of the e1000, a reply sent from inside a register access) takes the same lock as the
// guest's hooks, and may already hold it when it re-enters.
#pragma once

#include "core/types.hpp"
#include "lib/spinlock.hpp"

namespace tv {

u32 this_cpu();  // core/smp.hpp (declared here so the kit does not pull in the vCPU headers)

class Device {
  public:
    constexpr explicit Device(char const* name) : name_(name) {}
    constexpr Device() = default;  // for pools; name() is "device"
    Device(Device const&) = delete;
    Device& operator=(Device const&) = delete;

    char const* name() const { return name_; }
    void acquire() { lock_.lock(this_cpu()); }
    void release() { lock_.unlock(); }
    bool locked() const { return lock_.held(); }

  private:
    char const* name_ = "device";
    RecursiveLock lock_;
};

// Runs the scope under the device's lock.
class DeviceGuard {
  public:
    explicit DeviceGuard(Device& d) : d_(d) { d_.acquire(); }
    ~DeviceGuard() { d_.release(); }
    DeviceGuard(DeviceGuard const&) = delete;
    DeviceGuard& operator=(DeviceGuard const&) = delete;

  private:
    Device& d_;
};

}  // namespace tv
