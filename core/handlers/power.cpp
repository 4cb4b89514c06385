#include "core/handlers/power.hpp"

#include "core/acpi.hpp"
#include "core/arch/x86/cpu.hpp"
#include "core/exit_stats.hpp"
#include "core/handlers/boot_chain.hpp"
#include "core/io_hooks.hpp"
#include "core/log.hpp"
#include "core/mmio_hooks.hpp"

namespace tv {

namespace {

constexpr u16 kKbcCommand = 0x64;
constexpr u8 kKbcPulseReset = 0xFE;
constexpr u16 kResetControl = 0xCF9;
constexpr u32 kSlpEn = 1u << 13;

AcpiPower g_power;
using LogFn = void (*)();
constinit LogFn g_off_logs[kMaxPowerOffLogs] = {};
constinit u32 g_off_log_count = 0;
using LeavingFn = void (*)(GuestLeaving);
constinit LeavingFn g_leaving[kMaxLeaving] = {};
constinit u32 g_leaving_count = 0;
constinit bool g_left = false;

// Once, whichever way the guest goes first (Linux pulses the keyboard controller ten times,
// and falls back from one reset method to the next).
void leaving(GuestLeaving how) {
    if (__atomic_exchange_n(&g_left, true, __ATOMIC_ACQ_REL)) return;
    for (u32 i = 0; i < g_leaving_count; ++i) g_leaving[i](how);
}

IoAction pm1_cnt(void*, Vcpu&, IoExit const& io, u32* value) {
    if (!io.in && (*value & kSlpEn)) {
        log("power-off: guest entered sleep type %u through PM1 control port %#x", (*value >> 10) & 7, io.port);
        leaving(GuestLeaving::PowerOff);
        stats_log("power-off");
        io_hooks_log();
        mmio_hooks_log();
        for (u32 i = 0; i < g_off_log_count; ++i) g_off_logs[i]();
    }
    return IoAction::PassThrough;
}

IoAction kbc(void*, Vcpu&, IoExit const& io, u32* value) {
    if (!io.in && io.size == 1 && static_cast<u8>(*value) == kKbcPulseReset) {
        log("reset: guest pulsed the reset line through the keyboard controller");
        leaving(GuestLeaving::Reset);
        stats_log("reset");
        boot_chain_clear();
    }
    return IoAction::PassThrough;
}

// The FADT's reset register when it is neither CF9 (the PCI hook's) nor the keyboard
// controller: writing its value resets the machine.
IoAction reset_reg(void*, Vcpu&, IoExit const& io, u32* value) {
    if (!io.in && static_cast<u8>(*value) == g_power.reset_value) {
        log("reset: guest wrote %#x to the FADT's reset register %#x", static_cast<u8>(*value), io.port);
        leaving(GuestLeaving::Reset);
        stats_log("reset");
        boot_chain_clear();
    }
    return IoAction::PassThrough;
}

}  // namespace

bool power_leaving_register(void (*fn)(GuestLeaving)) {
    if (g_leaving_count == kMaxLeaving) return false;
    g_leaving[g_leaving_count++] = fn;
    return true;
}

char const* to_string(GuestLeaving how) { return how == GuestLeaving::PowerOff ? "power-off" : "reset"; }

bool power_off_log_register(void (*fn)()) {
    if (g_off_log_count == kMaxPowerOffLogs) return false;
    g_off_logs[g_off_log_count++] = fn;
    return true;
}

// Port CF9 shares a dword with the PCI address port CF8, so the PCI configuration-port hook
// (drivers/pci) owns CF8-CFF and hands every access of CF8-CFB that is not a dword to here.
void power_reset_control_access(IoExit const& io, u32 value) {
    // The register is byte-wide; bit 2 starts the reset.
    if (!io.in && io.port == kResetControl && io.size == 1 && (value & 0x4)) {
        log("reset: guest requested a reset through port CF9 (value %#x)", value);
        leaving(GuestLeaving::Reset);
        stats_log("reset");
        boot_chain_clear();
    }
}

Status power_hooks_install() {
    Status s = io_hook_register(kKbcCommand, 1, kbc, nullptr, "kbc-reset");
    if (!ok(s)) return s;
    if (!acpi_find_power(&g_power)) {
        log("power: no ACPI FADT found; power-off will not be logged");
        return Status::Ok;
    }
    log("power: PM1a_CNT %#x PM1b_CNT %#x reset register %#x", g_power.pm1a_cnt, g_power.pm1b_cnt, g_power.reset_port);
    if (g_power.pm1a_cnt) s = io_hook_register(g_power.pm1a_cnt, 2, pm1_cnt, nullptr, "pm1a-cnt");
    if (ok(s) && g_power.pm1b_cnt) s = io_hook_register(g_power.pm1b_cnt, 2, pm1_cnt, nullptr, "pm1b-cnt");
    if (ok(s) && g_power.reset_port && g_power.reset_port != kResetControl && g_power.reset_port != kKbcCommand &&
        !ok(io_hook_register(g_power.reset_port, 1, reset_reg, nullptr, "acpi-reset")))
        log("power: the FADT's reset register %#x is hooked already: a reset through it is not seen", g_power.reset_port);
    return s;
}

void machine_reset(char const* why) {
    log("reset: %s; resetting the machine", why);
    stats_log("reset");
    boot_chain_clear();
    if (g_power.reset_port) x86::outb(g_power.reset_port, g_power.reset_value);
    x86::outb(kResetControl, 0x06);
    x86::outb(kKbcCommand, kKbcPulseReset);
    x86::halt_forever();
}

void handle_shutdown(Vcpu& v, ExitRecord const&) {
    log("guest triple fault at rip %#llx (cr0 %#llx)", static_cast<unsigned long long>(v.rip()),
        static_cast<unsigned long long>(v.cr0()));
    leaving(GuestLeaving::Reset);
    machine_reset("guest triple fault");
}

}  // namespace tv
