// File protection on the disk-write path (issue 18, docs/policies.md): the one place that
// decides whether a write may change the bytes a signed policy names. Every mediator reaches
// it through its storage::Volume (check_write(), seal_write()), never with a copy of its own.
//
// The decision for a write of whole sectors, before the device or the AoE target sees it:
//   - only bytes the write would change count: each range is compared against the sectors'
//     current content on the disk (the mediator reads them first), so a write to a block
//     shared with other files (an inode table, a directory) passes when the protected bytes
//     are unchanged;
//   - protect, append-only: a change refuses the whole command (no sector of it is written);
//   - discard: the changed protected bytes are put back to their current content and the
//     rest of the write goes ahead;
//   - audit: a change is logged and allowed;
//   - without the current content (a mediator that cannot read first) every touched protect,
//     append-only or discard range counts as changed: refused, fail closed.
// Every refusal, discard and audited change calls the audit sink with the disk, the LBA of
// the first changed byte, the rule and the path.
#pragma once

#include "core/types.hpp"
#include "policies/policy_format.hpp"
#include "storage/disk_id.hpp"

namespace tv::storage {

struct RuleHit {
    DiskId const* disk;
    u64 lba;                // the sector of the first changed byte
    policy::Action action;
    char const* path;
    bool refused;           // protect/append-only (or discard without the current content)
};
using AuditSink = void (*)(RuleHit const&);

class WriteRules {
  public:
    WriteRules() = default;
    explicit WriteRules(policy::PolicyView const* v) : v_(v) {}

    bool active() const { return v_ != nullptr; }
    // Whether any range touches these sectors: then check() wants their current content.
    [[nodiscard]] bool touches(u64 lba, u64 sectors, u32 sector_size) const;
    // The decision: Ok (data possibly patched by discard ranges) or Refused. data is the
    // guest's plaintext of the sectors, current their plaintext on the disk now (or null).
    // data null: the command is judged before its data exists (IDE PIO): every touched
    // protect, append-only or discard range refuses it, an audit range is logged.
    [[nodiscard]] Status check(DiskId const& disk, u64 lba, u64 sectors, u32 sector_size, u8* data,
                               u8 const* current, AuditSink sink) const;

  private:
    u32 first_ending_after(u64 byte) const;
    bool touches_locked(u64 lba, u64 sectors, u32 sector_size) const;

    policy::PolicyView const* v_{nullptr};
};

// The policy in force, verified (policies/policy_verify) and kept in memory by its loader:
// volumes attached afterwards get its rules if it names their disk. Null: none. The view
// object stays the same for the monitor's life (volumes keep a pointer to it); a live update
// changes its contents.
void set_policy_in_force(policy::PolicyView* v);
// A live update (storage/policy_live): under the rules lock, the view in force becomes `next`
// (verified by the caller, its bytes kept until the update after it), if it names the same
// disk and is newer; `also` runs under the same lock (the statistics follow the new policy).
// False, nothing changed, otherwise. Every write judged after it sees only the new ranges.
[[nodiscard]] bool replace_policy_in_force(policy::PolicyView const& next, void (*also)(void*), void* ctx);
policy::PolicyView const* policy_in_force();
WriteRules rules_for(DiskId const& id);
void set_audit_sink(AuditSink sink);  // null: no audit lines (host tests install their own)
AuditSink audit_sink();

}  // namespace tv::storage
