// The monitor's log: every line goes into the log ring (readable by the guest through
// thinvisor-ctl) and out on the monitor's own serial port, never on the guest's console.
#pragma once

#include "core/types.hpp"

namespace tv {

class LogRing;

void log_init();
LogRing const& log_ring();

// printf-style; a trailing newline is added when missing.
void log(char const* fmt, ...) __attribute__((format(printf, 1, 2)));
// Also shown on the console (COM1) — only for messages a person at the machine must see
// before the guest owns the console: fatal refusals, prompts.
void console(char const* fmt, ...) __attribute__((format(printf, 1, 2)));

// A second destination for every line (the syslog export). Called under the log lock with the
// line and its newline: it must only copy, never log or block. Returns the ring offset at which
// the sink took over, so that the lines before it can be replayed from log_ring().
using LogSink = void (*)(char const* line, size_t len);
u64 log_set_sink(LogSink sink);

}  // namespace tv
