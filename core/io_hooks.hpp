// The I/O-port hook registry. A mediator claims ports here; the backends intercept exactly
// the claimed ports, and every other port stays passed through without an exit.
#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"
#include "core/virt_backend.hpp"

namespace tv {

enum class IoAction : u8 {
    PassThrough,  // perform the access on the real port (value may have been changed for OUT)
    Handled,      // done; for IN, *value is what the guest reads
};

// For OUT, *value holds the guest's data on entry.
using IoHandler = IoAction (*)(void* ctx, Vcpu& v, IoExit const& io, u32* value);

[[nodiscard]] Status io_hook_register(u16 first, u16 count, IoHandler fn, void* ctx, char const* name);
void io_hooks_apply(InterceptSet& set);
void io_exit(Vcpu& v, ExitRecord const& e);
// One log line per hook with the number of exits it caused.
void io_hooks_log();

}  // namespace tv
