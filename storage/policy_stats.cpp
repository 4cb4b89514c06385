#include "storage/policy_stats.hpp"

#include <stdio.h>
#include <string.h>

namespace tv::storage {

namespace {

char const* const kFixedNames[PolicyStats::kFixed] = {
    "policy-version",  "policy-ranges",  "policy-bus",       "policy-source",  "policy-serial0", "policy-serial1",
    "policy-serial2",  "policy-refused", "policy-discarded", "policy-audited", "policy-paths"};

void put_name(char* name, char const* s) {
    size_t const n = strlen(s);
    char const* tail = n > 16 ? s + (n - 16) : s;  // a path's end says more than its start
    memset(name, 0, 17);
    memcpy(name, tail, strlen(tail));
}

u64 serial_word(crypto::DiskSerial const& s, u32 w) {
    u64 v = 0;
    for (u32 b = 0; b < 8; ++b) {
        u32 const i = w * 8 + b;
        u8 const c = i < sizeof s.text ? static_cast<u8>(s.text[i]) : 0;
        v |= u64{c} << (8 * b);
    }
    return v;
}

}  // namespace

void PolicyStats::record(RuleHit const& h) {
    u64* total = h.refused ? &refused_ : h.action == policy::Action::Discard ? &discarded_ : &audited_;
    __atomic_fetch_add(total, 1, __ATOMIC_RELAXED);
    for (u32 i = 0; i < kPathSlots; ++i) {
        char const* p = __atomic_load_n(&paths_[i], __ATOMIC_ACQUIRE);
        char const* expected = nullptr;
        if (!p && __atomic_compare_exchange_n(&paths_[i], &expected, h.path, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            p = h.path;
        else if (!p)
            p = expected;  // another CPU claimed this slot meanwhile
        if (p == h.path || strcmp(p, h.path) == 0) {
            __atomic_fetch_add(&hits_[i], 1, __ATOMIC_RELAXED);
            return;
        }
    }
    // More paths hit than slots: counted in the totals only.
}

bool PolicyStats::counter(u32 i, char* name, u64* value) const {
    if (i >= kCounters) return false;
    if (i >= kFixed + kPathSlots) {
        u32 const w = i - kFixed - kPathSlots;
        char n[17];
        snprintf(n, sizeof n, "policy-url%u", w);
        put_name(name, n);
        *value = 0;
        size_t const len = url_ ? strlen(url_) : 0;
        for (u32 b = 0; b < 8; ++b) {
            size_t const k = size_t{w} * 8 + b;
            *value |= u64{k < len ? static_cast<u8>(url_[k]) : u8{0}} << (8 * b);
        }
        return true;
    }
    if (i >= kFixed) {
        u32 const s = i - kFixed;
        char const* p = __atomic_load_n(&paths_[s], __ATOMIC_ACQUIRE);
        put_name(name, p ? p : "");
        *value = p ? __atomic_load_n(&hits_[s], __ATOMIC_RELAXED) : 0;
        return true;
    }
    put_name(name, kFixedNames[i]);
    policy::PolicyView const* v = view_;
    switch (i) {
        case 0: *value = v ? v->version : 0; break;
        case 1: *value = v ? v->range_count : 0; break;
        case 2: *value = v ? static_cast<u64>(v->bus) : 0; break;
        case 3: *value = source_; break;
        case 4: case 5: case 6: *value = v ? serial_word(v->serial, i - 4) : 0; break;
        case 7: *value = __atomic_load_n(&refused_, __ATOMIC_RELAXED); break;
        case 8: *value = __atomic_load_n(&discarded_, __ATOMIC_RELAXED); break;
        case 9: *value = __atomic_load_n(&audited_, __ATOMIC_RELAXED); break;
        default: *value = kPathSlots; break;
    }
    return true;
}

}  // namespace tv::storage
