// What the file-protection policy has done, for the guest to read (`thinvisor-ctl policy`,
// docs/policies.md): the policy in force (version, disk, range count, where it came from) and
// the writes it refused, discarded or audited, in total and by path. Exported as device
// counters (core/exit_stats), the one channel the guest already reads; the names are fixed
// so the guest tool can find them:
//   policy-version, policy-ranges, policy-bus (0 ATA, 1 AoE, 2 USB), policy-source (0 boot module,
//   1 fetched over HTTPS from [policy] url),
//   policy-serial0..2 (the disk's serial, 8 ASCII bytes each, little-endian, NUL padded),
//   policy-refused, policy-discarded, policy-audited, policy-paths (= kPathSlots), then
//   kPathSlots counters named by a path (its last 16 characters; "" for an unused slot)
//   whose value is that path's hits, in the order the paths were first hit, then
//   policy-url0..7: the URL a fetched policy came from (source 1), 8 ASCII bytes each,
//   little-endian, NUL padded (its first 64 characters).
// record() may run on any CPU at once: the counts are atomic and a slot is claimed by CAS.
#pragma once

#include "core/types.hpp"
#include "policies/policy_format.hpp"
#include "storage/write_rule.hpp"

namespace tv::storage {

class PolicyStats {
  public:
    static constexpr u32 kPathSlots = 8;
    static constexpr u32 kFixed = 11;
    static constexpr u32 kUrlWords = 8;
    static constexpr u32 kCounters = kFixed + kPathSlots + kUrlWords;

    void set_policy(policy::PolicyView const* v, u8 source) {
        view_ = v;
        source_ = source;
    }
    // A live update replaced the policy (under the rules lock, so no record() runs): its
    // paths are new strings, so the per-path hits start again; the totals keep counting.
    void set_url(char const* url) { url_ = url; }  // kept by the caller (the configuration)
    void policy_replaced(u8 source) {
        source_ = source;
        for (u32 i = 0; i < kPathSlots; ++i) {
            __atomic_store_n(&paths_[i], nullptr, __ATOMIC_RELEASE);
            __atomic_store_n(&hits_[i], 0, __ATOMIC_RELAXED);
        }
    }
    void record(RuleHit const& h);
    // Counter i < kCounters: name (17 bytes, NUL terminated) and value. False past the end.
    [[nodiscard]] bool counter(u32 i, char* name, u64* value) const;

  private:
    policy::PolicyView const* view_{nullptr};
    u8 source_{0};
    char const* url_{nullptr};
    u64 refused_{0}, discarded_{0}, audited_{0};
    char const* paths_[kPathSlots]{};  // path strings inside the policy in force
    u64 hits_[kPathSlots]{};
};

}  // namespace tv::storage
