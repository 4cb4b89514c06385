// Fakes of the monitor's registries and services that the mediators' *_install glue calls
// (as Bareflank's mocks/ mirror its sources): the I/O-port, MMIO and PCI-configuration hook
// registries, BAR follows, configuration space, monitor memory, the command line and
// thinvisor.conf. Each records what the glue asked for, so a host test can check what a
// driver hooked, pinned and claimed. Linked into the unit binary with the glue itself.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/io_hooks.hpp"
#include "core/mmio_hooks.hpp"
#include "drivers/pci/config_hooks.hpp"

namespace tv::mocks {

struct IoHookRec {
    u16 first, count;
    IoHandler fn;
    void* ctx;
    std::string name;
    Device* device;  // nullptr: registered without one (a device of its own)
};
struct MmioHookRec {
    Gpa base;
    u64 size;
    MmioHandler fn;
    void* ctx;
    std::string name;
    Device* device;
};
struct ConfigHookRec {
    pci::Bdf bdf;
    u16 first, count;
    pci::ConfigHandler fn;
    void* ctx;
    std::string name;
    Device* device;
};
struct FollowRec {
    pci::Bdf bdf;
    u8 bar;
    MmioHookId hook;
};

struct Registries {
    std::vector<IoHookRec> io;
    std::vector<MmioHookRec> mmio;
    std::vector<ConfigHookRec> config_hooks;
    std::vector<FollowRec> follows;
    std::map<u64, u32> config_space;  // (bus << 16 | dev << 11 | fn << 8) << 12 | dword register
    std::map<u64, u32> device_regs;   // device registers behind MMIO hooks, by gpa
    u32 device_accesses = 0;          // mmio_device_access calls on a hooked range...
    u32 device_accesses_unlocked = 0; // ...made without the hook's device lock held
    std::vector<std::string> logs;
    std::string cmdline;              // "key=value key=value"
    Config conf{};
    bool conf_loaded = false;

    IoHookRec const* io_at(u16 port) const;
    MmioHookRec const* mmio_at(Gpa gpa) const;
    ConfigHookRec const* config_at(pci::Bdf b, u16 reg) const;
    bool logged(char const* needle) const;
    u32 read_config(pci::Bdf b, u16 dword) const;
    void write_config(pci::Bdf b, u16 dword, u32 value);
};

// The one instance the fakes record into.
Registries& registries();

}  // namespace tv::mocks
