// The file-protection policy at boot (docs/policies.md): [policy] of thinvisor.conf names
// the boot module and pins the administrator's key. Monitor only.
#pragma once

#include "core/boot_info.hpp"
#include "core/config.hpp"
#include "core/types.hpp"

namespace tv::storage {

// Before the mediators attach their disks: verifies the policy module (signature by the
// pinned key, version >= [policy] min_version), keeps it as the policy in force and installs
// the audit lines. True without a [policy] section. False, with the reason on the console,
// for a missing or refused policy: the monitor then refuses to boot rather than run the
// guest unprotected (docs/policies.md, "Refusals").
[[nodiscard]] bool load_boot_policy(Config const& cfg, BootInfo const& bi);

// Live updates ([policy] url, net/policy_fetch; docs/policies.md, "Distribution"). Only after
// load_boot_policy() accepted the boot module, and from one fetcher at a time (the network
// CPU).
struct PolicyBuffer {
    u8* bytes;
    u64 cap;
};
// Where the next download goes: not the buffer in force, so a half-received or refused file
// never touches the rules.
PolicyBuffer policy_download_buffer();
u64 policy_version_in_force();  // 0: none

enum class LiveResult : u8 { Applied, Unchanged, Refused };
// The download's first `len` bytes go through the boot module's checks: parsed, signed by the
// pinned key, for the disk in force, newer than the version in force (rollback refused). A
// newer valid one replaces the rules under the storage pipeline's lock while the guest runs.
// Every refusal is logged with `source` (the URL) and its reason; the same version again is
// Unchanged (not logged).
[[nodiscard]] LiveResult apply_downloaded_policy(u64 len, char const* source);

}  // namespace tv::storage
