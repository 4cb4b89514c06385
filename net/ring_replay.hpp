// The log lines already in the monitor's log ring when the syslog export starts, handed out
// one by one, so the listener sees the boot as the serial port did. Pure (LogRing is).
#pragma once

#include "core/log_ring.hpp"
#include "core/types.hpp"

namespace tv::net {

using LineFn = void (*)(char const* line, size_t len);

// Every complete line held in `ring` before absolute offset `upto`, oldest first, without its
// newline. A line whose start the ring has overwritten is skipped, not sent cut; lines longer
// than 512 bytes (core/log.cpp never writes one) are cut. Returns how many lines were handed.
u32 replay_ring_lines(LogRing const& ring, u64 upto, LineFn fn);

}  // namespace tv::net
