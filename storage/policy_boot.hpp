// The file-protection policy at boot (docs/policies.md): [policy] of thinvisor.conf names
// the boot module and pins the administrator's key. Monitor only.
#pragma once

#include "core/boot_info.hpp"
#include "core/config.hpp"

namespace tv::storage {

// Before the mediators attach their disks: verifies the policy module (signature by the
// pinned key, version >= [policy] min_version), keeps it as the policy in force and installs
// the audit lines. True without a [policy] section. False, with the reason on the console,
// for a missing or refused policy: the monitor then refuses to boot rather than run the
// guest unprotected (docs/policies.md, "Refusals").
[[nodiscard]] bool load_boot_policy(Config const& cfg, BootInfo const& bi);

}  // namespace tv::storage
