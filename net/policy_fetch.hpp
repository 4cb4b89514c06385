// The file-protection policy fetched over HTTPS ([policy] url; docs/policies.md,
// "Distribution"): at boot, before the guest runs (up to [policy] boot_wait seconds), then
// every [policy] interval. Each poll is one TLS connection and one conditional GET (the last
// 200's ETag and Last-Modified), so an unchanged policy costs the server a 304. A 200's body
// goes through storage::apply_downloaded_policy (signature, disk, version above the one in
// force) and, if newer and valid, replaces the rules while the guest runs. Every failure is
// one log line with its reason; nothing here can stop the guest or the monitor.
#pragma once

#include "core/boot_info.hpp"

namespace tv::net {

// After net_init() (the stack runs) and load_boot_policy(). Nothing without [policy] url.
void policy_fetch_start(BootInfo const& bi);

}  // namespace tv::net
