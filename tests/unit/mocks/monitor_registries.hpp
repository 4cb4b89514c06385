// Fakes of the monitor's registries and services that the mediators' *_install glue calls
// (as Bareflank's mocks/ mirror its sources): the I/O-port, MMIO and PCI-configuration hook
// registries, BAR follows, configuration space, monitor memory, the command line,
// thinvisor.conf and the disk keys, the machine's I/O ports (core/device/port_io), the CPU
// count, the clock, the BIOS drive table and the interrupt controllers. Each records what the glue asked for, so a host test can check what a
// driver hooked, pinned and claimed. Linked into the unit binary with the glue itself.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "core/device/irq_line.hpp"
#include "core/device/port_io.hpp"
#include "core/io_hooks.hpp"
#include "core/handlers/bios_services.hpp"
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

struct BiosDriveRec {
    u8 drive;
    BiosDiskFn fn;
    void* ctx;
};

// The interrupt controllers behind irq_controllers(): IOAPIC entries as the guest left them
// (masked unless a test says otherwise), every IPI the monitor sent.
struct FakeIrqControllers final : IrqControllers {
    u32 ioapic_entry_low(u32 gsi) override;
    bool send_ipi(IpiMessage const& m) override {
        ipis.push_back(m);
        return true;
    }
    std::map<u32, u32> entries;
    std::vector<IpiMessage> ipis;
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
    Status boot_keys = Status::Ok;    // what storage::load_boot_keys answers
    bool out_of_pages = false;        // alloc_pages finds no memory
    u32 unlocked_disks = 0;           // what unlocked_disk_count answers
    u32 cpus = 1;                     // CPUs in the MADT (acpi_find_cpus) and running (smp_cpu_count)
    PortIo* ports = nullptr;          // the machine behind machine_ports(); nullptr: nothing answers (all ones)
    u64 now_us = 0;                   // clock_us(); clock_delay_us moves it on
    std::vector<u64> timer_runs;      // now_us at each timer_run_due()
    Status bios_disk = Status::Ok;    // what bios_disk_install answers
    std::vector<BiosDriveRec> bios_drives;
    FakeIrqControllers irq;

    IoHookRec const* io_at(u16 port) const;
    MmioHookRec const* mmio_at(Gpa gpa) const;
    ConfigHookRec const* config_at(pci::Bdf b, u16 reg) const;
    bool logged(char const* needle) const;
    u32 read_config(pci::Bdf b, u16 dword) const;
    void write_config(pci::Bdf b, u16 dword, u32 value);
    // Takes the I/O-port and configuration hooks whose name starts with `prefix` out of the
    // registries: a suite that claims fixed ports (the legacy IDE channel) gives them back for
    // the next suite, and puts them back if it runs again (--gtest_repeat: the glue attaches
    // once per process). MMIO hooks stay (their index is their id).
    struct Parked {
        std::vector<IoHookRec> io;
        std::vector<ConfigHookRec> config;
    };
    Parked park_hooks(char const* prefix);
    void unpark(Parked const& p);
};

// The one instance the fakes record into.
Registries& registries();

}  // namespace tv::mocks
