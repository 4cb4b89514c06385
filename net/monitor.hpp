// The monitor's glue for net/: brings the stack up from thinvisor.conf [network] on the
// mediated NIC's port, and ticks it every 10 ms from the monitor clock (core/timer.hpp).
#pragma once

#include "core/types.hpp"

namespace tv::net {

// After the NIC mediators are installed (they publish nic::monitor_port()). Without a
// [network] section or without a mediated NIC the monitor has no network: logged, not fatal.
void net_init();

// Ticks until the syslog backlog is empty or `max_us` passed: for the last lines before the
// machine goes away (the power-off counters), which no later exit would send. Busy-waits:
// only for the end of the guest's life.
void net_flush(u64 max_us);

// Whether this CPU runs the network stack (lwIP is single-threaded: only it may send).
[[nodiscard]] bool net_here();
// Ticks until done(ctx) (asked before each tick; it may do work of its own, under its own
// locks) or `max_us` passed; what done() last said. Only on the stack's CPU (false elsewhere,
// without a tick). Busy-waits like net_flush: for the VPN's Delete at power-off, whose answer
// only a tick reads.
[[nodiscard]] bool net_run_until(bool (*done)(void*), void* ctx, u64 max_us);

}  // namespace tv::net
