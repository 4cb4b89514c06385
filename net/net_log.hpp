// Where net/ writes its own messages: the monitor log (net/monitor.cpp), or a capture in the
// host tests. A separate hook because the log's sink feeds back into net/ (syslog export).
#pragma once

namespace tv::net {

void net_log(char const* fmt, ...) __attribute__((format(printf, 1, 2)));

}  // namespace tv::net
