// The monitor's glue for net/: brings the stack up from thinvisor.conf [network] on the
// mediated NIC's port, and ticks it from the exit path.
#pragma once

#include "core/types.hpp"

namespace tv::net {

// After the NIC mediators are installed (they publish nic::monitor_port()). Without a
// [network] section or without a mediated NIC the monitor has no network: logged, not fatal.
void net_init();

// On every VM exit. Costs one clock read unless the tick period (kTickUs) has passed; then
// polls the port, runs lwIP's timers and sends queued log lines. The monitor has no timer
// interrupt: a guest that does not exit delays the monitor's answers by as long. Only the CPU
// that ran net_init (the boot CPU) does the work; on every other CPU this is one compare.
void net_tick();

// Ticks until the syslog backlog is empty or `max_us` passed: for the last lines before the
// machine goes away (the power-off counters), which no later exit would send. Busy-waits:
// only for the end of the guest's life.
void net_flush(u64 max_us);

}  // namespace tv::net
