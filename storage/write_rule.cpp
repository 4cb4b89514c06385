#include "storage/write_rule.hpp"

#include <string.h>

#include "lib/spinlock.hpp"

namespace tv::storage {

namespace {

policy::PolicyView* g_policy;
AuditSink g_sink;
// The storage pipeline's rules lock: a live update (replace_policy_in_force) swaps the view
// every volume's rules read, so a write is judged by the old policy or the new one, never by
// a mix. Held only while ranges are read (and the audit line is written), never across I/O.
constinit SpinLock g_rules_lock;

struct RulesGuard {
    RulesGuard() { g_rules_lock.lock(); }
    ~RulesGuard() { g_rules_lock.unlock(); }
    RulesGuard(RulesGuard const&) = delete;
    RulesGuard& operator=(RulesGuard const&) = delete;
};

u64 first_diff(u8 const* a, u8 const* b, u64 n) {
    for (u64 i = 0; i < n; ++i)
        if (a[i] != b[i]) return i;
    return n;
}

}  // namespace

void set_policy_in_force(policy::PolicyView* v) { g_policy = v; }

bool replace_policy_in_force(policy::PolicyView const& next, void (*also)(void*), void* ctx) {
    RulesGuard g;
    if (!g_policy || !policy::policy_for_disk(*g_policy, next.bus, next.serial) || next.version <= g_policy->version)
        return false;
    *g_policy = next;
    if (also) also(ctx);
    return true;
}
policy::PolicyView const* policy_in_force() { return g_policy; }
void set_audit_sink(AuditSink sink) { g_sink = sink; }
AuditSink audit_sink() { return g_sink; }

WriteRules rules_for(DiskId const& id) {
    if (!g_policy) return WriteRules{};
    auto const bus = id.bus == Bus::Aoe   ? policy::PolicyBus::Aoe
                     : id.bus == Bus::Usb ? policy::PolicyBus::Usb
                                          : policy::PolicyBus::Ata;
    return policy::policy_for_disk(*g_policy, bus, id.serial) ? WriteRules{g_policy} : WriteRules{};
}

// Ranges are sorted and disjoint, so their ends are sorted too: a binary search.
u32 WriteRules::first_ending_after(u64 byte) const {
    u32 lo = 0, hi = v_->range_count;
    while (lo < hi) {
        u32 const mid = lo + (hi - lo) / 2;
        policy::Range const r = v_->range(mid);
        if (r.offset + r.length <= byte) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

bool WriteRules::touches(u64 lba, u64 sectors, u32 sector_size) const {
    if (!v_) return false;
    RulesGuard g;
    return touches_locked(lba, sectors, sector_size);
}

bool WriteRules::touches_locked(u64 lba, u64 sectors, u32 sector_size) const {
    if (sectors == 0) return false;
    u64 const start = lba * sector_size, end = start + sectors * sector_size;  // lba < 2^48: no overflow
    u32 const i = first_ending_after(start);
    return i < v_->range_count && v_->range(i).offset < end;
}

Status WriteRules::check(DiskId const& disk, u64 lba, u64 sectors, u32 sector_size, u8* data, u8 const* current,
                         AuditSink sink) const {
    if (!v_) return Status::Ok;
    RulesGuard g;
    if (!touches_locked(lba, sectors, sector_size)) return Status::Ok;
    u64 const start = lba * sector_size, end = start + sectors * sector_size;
    for (u32 i = first_ending_after(start); i < v_->range_count; ++i) {
        policy::Range const r = v_->range(i);
        if (r.offset >= end) break;
        u64 const a = r.offset > start ? r.offset : start;
        u64 const b = r.offset + r.length < end ? r.offset + r.length : end;
        u8* d = data ? data + (a - start) : nullptr;  // null: judged before the data exists
        u8 const* cur = current && data ? current + (a - start) : nullptr;
        u64 const diff = cur ? first_diff(d, cur, b - a) : 0;
        if (diff == b - a) continue;  // the write leaves these bytes as they are
        bool const refused = r.action == policy::Action::Protect || r.action == policy::Action::AppendOnly ||
                             (r.action == policy::Action::Discard && !cur);
        if (sink) sink(RuleHit{&disk, (a + diff) / sector_size, r.action, r.path, refused});
        if (refused) return Status::Refused;  // the whole command: nothing of it is written
        if (r.action == policy::Action::Discard) memcpy(d, cur, b - a);
    }
    return Status::Ok;
}

}  // namespace tv::storage
