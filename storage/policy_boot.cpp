// The policy module, verified once at boot, and the audit lines of the write rule.
#include "storage/policy_boot.hpp"

#if !__STDC_HOSTED__

#include <stdio.h>
#include <string.h>

#include "core/config_load.hpp"
#include "core/exit_stats.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "crypto/fpu_guard.hpp"
#include "policies/policy_verify.hpp"
#include "storage/policy_stats.hpp"
#include "storage/write_rule.hpp"

namespace tv::storage {

namespace {

// Two buffers: the policy in force (its ranges are read in place) and the one a live update
// downloads into (net/policy_fetch). An accepted download becomes the policy in force and the
// old buffer the next download's: nothing still reads it then (the rules lock, and the path
// slots of the statistics are cleared with the swap).
u8 g_bytes[2][policy::kMaxPolicyBytes];
u32 g_live;  // index of the buffer in force
policy::PolicyView g_view;  // the view in force: volumes keep a pointer to this object
policy::PinnedKey g_key;
constinit PolicyStats g_stats;  // what `thinvisor-ctl policy` shows

bool stats_counter(void*, u32 i, char* name, u64* value) { return g_stats.counter(i, name, value); }

char const* verdict(RuleHit const& h) {
    if (h.refused) return "refused";
    return h.action == policy::Action::Discard ? "discarded" : "audited";
}

// One line per hit in the log ring (and syslog), rate-limited per disk and rule like every
// mediator's refusals: a guest hammering a protected block must not bury the log.
void audit_line(RuleHit const& h) {
    g_stats.record(h);  // every hit, before the rate limit
    char device[40], cause[LogLimiter::kCauseChars];
    snprintf(device, sizeof device, "policy %s:%s", bus_name(h.disk->bus), h.disk->serial.text);
    snprintf(cause, sizeof cause, "%s %s %s", verdict(h), policy::action_name(h.action), h.path);
    if (!log_limit_allow(device, cause)) return;
    log("policy: disk %s:%s lba %llu: write %s (%s %s)", bus_name(h.disk->bus),
        h.disk->serial.text, static_cast<unsigned long long>(h.lba), verdict(h), policy::action_name(h.action),
        h.path);
}

void swapped(void*) { g_stats.policy_replaced(1); }

bool refuse(char const* module, char const* why, char const* detail = "") {
    console("thinvisor: policy '%s' refused: %s%s", module, why, detail);
    return false;
}

}  // namespace

bool load_boot_policy(Config const& cfg, BootInfo const& bi) {
    PolicyConfig const& pc = cfg.policy;
    if (!pc.present) return true;
    BootModule const* m = find_module(bi, pc.module);
    if (!m || !m->copy) return refuse(pc.module, "it was not loaded as a boot module");
    u64 const len = m->end - m->start;
    if (len > sizeof g_bytes) return refuse(pc.module, "larger than any valid policy");
    memcpy(g_bytes[0], m->copy, len);
    g_live = 0;
    policy::PinnedKey& key = g_key;
    policy::VerifyError e;
    policy::ParseError pe = policy::ParseError::None;
    {
        crypto::FpuGuard fpu;  // mbedTLS: the guest's SSE state is saved around it
        if (!ok(policy::pubkey_from_base64(pc.pubkey, strlen(pc.pubkey), key)))
            return refuse(pc.module, "[policy] pubkey is not an EC P-256 public key");
        policy::VerifyRequest const req{&key, pc.min_version - 1, false, policy::PolicyBus::Ata, {}};
        e = policy::verify_policy(g_bytes[0], len, req, g_view, &pe);
    }
    if (e == policy::VerifyError::Malformed) return refuse(pc.module, "malformed: ", policy::parse_error_name(pe));
    if (e == policy::VerifyError::Rollback) return refuse(pc.module, "older than [policy] min_version (rollback)");
    if (e != policy::VerifyError::None) return refuse(pc.module, policy::verify_error_name(e));
    set_policy_in_force(&g_view);
    set_audit_sink(audit_line);
    g_stats.set_policy(&g_view, 0);
    if (pc.url[0]) g_stats.set_url(pc.url);
    if (!stats_device_counters_register(PolicyStats::kCounters, stats_counter, nullptr))
        log("policy: no room for its counters (thinvisor-ctl policy will not see them)");
    log("policy: '%s' version %llu in force for disk %s:%s, %u range(s)", pc.module,
        static_cast<unsigned long long>(g_view.version), policy::policy_bus_name(g_view.bus),
        g_view.serial.text, g_view.range_count);
    return true;
}

PolicyBuffer policy_download_buffer() { return PolicyBuffer{g_bytes[1 - g_live], sizeof g_bytes[0]}; }

u64 policy_version_in_force() {
    policy::PolicyView const* v = policy_in_force();
    return v ? v->version : 0;
}

LiveResult apply_downloaded_policy(u64 len, char const* source) {
    u8* const bytes = g_bytes[1 - g_live];
    policy::PolicyView const* cur = policy_in_force();
    if (!cur) return LiveResult::Refused;
    policy::PolicyView next;
    u64 offered = 0;  // its version, when it parses (verify_policy fills `next` only on success)
    if (policy::parse_policy(bytes, len, next) == policy::ParseError::None) offered = next.version;
    if (offered == cur->version) return LiveResult::Unchanged;  // the same again (say, the file was touched)
    policy::VerifyError e;
    policy::ParseError pe = policy::ParseError::None;
    {
        crypto::FpuGuard fpu;
        policy::VerifyRequest const req{&g_key, cur->version, true, cur->bus, cur->serial};
        e = policy::verify_policy(bytes, len, req, next, &pe);
    }
    if (e == policy::VerifyError::Malformed) {
        log("policy: from %s refused: malformed: %s", source, policy::parse_error_name(pe));
        return LiveResult::Refused;
    }
    if (e == policy::VerifyError::Rollback) {
        log("policy: from %s refused: version %llu is older than version %llu in force (rollback)", source,
            static_cast<unsigned long long>(offered), static_cast<unsigned long long>(cur->version));
        return LiveResult::Refused;
    }
    if (e != policy::VerifyError::None) {
        log("policy: from %s refused: %s", source, policy::verify_error_name(e));
        return LiveResult::Refused;
    }
    u64 const old = cur->version;
    if (!replace_policy_in_force(next, swapped, nullptr)) {  // a concurrent update won (cannot happen: one fetcher)
        log("policy: from %s refused: no longer newer than the policy in force", source);
        return LiveResult::Refused;
    }
    g_live = 1 - g_live;
    log("policy: version %llu from %s in force (was %llu), %u range(s), applied live",
        static_cast<unsigned long long>(next.version), source, static_cast<unsigned long long>(old), next.range_count);
    return LiveResult::Applied;
}

}  // namespace tv::storage

#endif
