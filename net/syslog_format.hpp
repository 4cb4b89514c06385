// One monitor log line as an RFC 5424 syslog message, for one UDP datagram (RFC 5426):
//
//   <PRI>1 - HOSTNAME thinvisor - - [meta sequenceId="N"] MSG
//
// No timestamp (NILVALUE "-": the monitor has no wall clock); facility local0; severity from
// the line's prefix (syslog_severity); sequenceId counts every message sent, so a listener
// sees what the network lost. MSG is the line as logged, with control bytes replaced by '?'
// (a line may quote guest- or network-controlled bytes).
#pragma once

#include "core/types.hpp"

namespace tv::net {

enum class Severity : u8 { Crit = 2, Err = 3, Warning = 4, Info = 6 };

inline constexpr u32 kFacilityLocal0 = 16;

Severity syslog_severity(char const* line, size_t len);

// Writes the message to out (not NUL-terminated) and returns its length, or 0 when cap is too
// small for the header (the MSG part is cut to fit). hostname must be 1-255 printable ASCII.
size_t syslog_format(char* out, size_t cap, char const* hostname, u32 sequence, char const* line,
                     size_t len);

}  // namespace tv::net
