// The I/O-port hook registry. A mediator claims ports here; the backends intercept exactly
// the claimed ports, and every other port stays passed through without an exit.
#pragma once

// A wide access that touches a claimed port is routed byte by byte when its bytes have
// different owners (core/device/port_router.hpp says exactly when).
#include "core/device/port_router.hpp"
#include "core/exit_record.hpp"
#include "core/vcpu.hpp"
#include "core/virt_backend.hpp"

namespace tv {

// The hook, and the real-port access it hands back, run under dev's lock.
[[nodiscard]] Status io_hook_register(Device& dev, u16 first, u16 count, IoHandler fn, void* ctx, char const* name);
// A monitor service that is a device of its own (the hidden UART, the reset ports): the hook
// gets a Device no other hook shares.
[[nodiscard]] Status io_hook_register(u16 first, u16 count, IoHandler fn, void* ctx, char const* name);
void io_hooks_apply(InterceptSet& set);
void io_exit(Vcpu& v, ExitRecord const& e);
// One log line per hook with the number of exits it caused.
void io_hooks_log();

}  // namespace tv
