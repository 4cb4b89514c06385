// Guest power-off and reset: the monitor logs what happened (with its exit counters) and
// then lets the request reach the hardware, so the machine resets or powers off cleanly.
#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv {

[[nodiscard]] Status power_hooks_install();
// A guest access to port CF9 (reset control) or its neighbours CF8-CFB other than the PCI
// address dword; called by the PCI configuration-port hook, which owns those ports. Logs a
// reset request; the caller performs the access.
void power_reset_control_access(IoExit const& io, u32 value);
void handle_shutdown(Vcpu& v, ExitRecord const& e);
// Mediators register a function that logs their counters; all of them run when the guest
// powers off, after the exit counters. At most kMaxPowerOffLogs; false when full.
inline constexpr u32 kMaxPowerOffLogs = 32;  // every mediator, the rate limits, the clock, the network flush
bool power_off_log_register(void (*fn)());
// The guest is about to be gone: its S5 write, or a reset (port CF9, the FADT's reset
// register, the keyboard controller's pulse, a triple fault). The registered functions run
// once, in order, in the exit that announced it and before it reaches the hardware: what must
// reach the network first (the VPN's Delete) is sent there. At most kMaxLeaving.
enum class GuestLeaving : u8 { PowerOff, Reset };
inline constexpr u32 kMaxLeaving = 4;
bool power_leaving_register(void (*fn)(GuestLeaving how));
char const* to_string(GuestLeaving how);
// Resets the machine through the chipset; used when the guest triple-faults.
[[noreturn]] void machine_reset(char const* why);

}  // namespace tv
