// The monitor's IPv4 host on its share of the NIC: lwIP 2.1.3 (NO_SYS, raw API) on a
// nic::FramePort. It answers ARP and ping on its own address (static, or leased by lwIP's
// DHCP client) and exports the monitor log to a syslog listener over UDP (net/syslog_format).
//
// Everything is polled: stack_tick() reaps the port, runs lwIP's timers and sends queued log
// lines, a bounded amount per call. No hardware access here (the port is an interface), so
// the host tests drive it with a fake port and a fake clock. One stack per process: lwIP's
// state is global.
#pragma once

#include "core/types.hpp"
#include "drivers/nic/frame_port.hpp"

namespace tv::net {

struct NetSettings {
    bool dhcp;
    u32 address, netmask, gateway;  // network byte order (as Config's Ipv4::be); unused with dhcp
    u32 syslog_host;                // network byte order; 0: no log export
    u16 syslog_port;
};

struct NetCounters {
    u64 rx_frames;        // handed to lwIP
    u64 rx_refused;       // malformed (net/frame_check), logged
    u64 rx_no_buffer;     // no pbuf free: dropped
    u64 tx_frames;
    u64 tx_dropped;       // the port's TX slots were full, or the packet was too large
    u64 syslog_sent;
    u64 syslog_dropped;   // the backlog was full (newest lines lost)
    u64 syslog_truncated; // lines cut to the backlog's line size
};

// Brings the interface up on `port` (its MAC and MTU). Invalid for a missing port or an
// incomplete static address; Exists if already started.
[[nodiscard]] Status stack_start(NetSettings const& s, nic::FramePort* port);
// Host tests only: takes the interface down and forgets the port and the queued lines.
void stack_stop();
void stack_tick();
// Queues one log line for syslog; callable any time, also before stack_start (the log sink).
// Never calls into lwIP or the log, so it is safe inside the logger's lock.
void stack_queue_log(char const* line, size_t len);
// Log lines (and a pending dropped-lines note) not sent yet.
u32 stack_pending_log();

bool stack_has_address();
// lwIP's view of the link (the port's, as of the last tick): it routes nothing while down.
bool stack_link_up();
u32 stack_address();  // network byte order; 0 before an address is bound
NetCounters stack_counters();
char const* stack_hostname();

}  // namespace tv::net
