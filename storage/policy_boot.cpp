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

u8 g_bytes[policy::kMaxPolicyBytes];  // the policy in force: its ranges are read in place
policy::PolicyView g_view;
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
    snprintf(device, sizeof device, "policy %s:%s", h.disk->bus == Bus::Aoe ? "aoe" : "ata", h.disk->serial.text);
    snprintf(cause, sizeof cause, "%s %s %s", verdict(h), policy::action_name(h.action), h.path);
    if (!log_limit_allow(device, cause)) return;
    log("policy: disk %s:%s lba %llu: write %s (%s %s)", h.disk->bus == Bus::Aoe ? "aoe" : "ata",
        h.disk->serial.text, static_cast<unsigned long long>(h.lba), verdict(h), policy::action_name(h.action),
        h.path);
}

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
    memcpy(g_bytes, m->copy, len);
    policy::PinnedKey key{};
    policy::VerifyError e;
    policy::ParseError pe = policy::ParseError::None;
    {
        crypto::FpuGuard fpu;  // mbedTLS: the guest's SSE state is saved around it
        if (!ok(policy::pubkey_from_base64(pc.pubkey, strlen(pc.pubkey), key)))
            return refuse(pc.module, "[policy] pubkey is not an EC P-256 public key");
        policy::VerifyRequest const req{&key, pc.min_version - 1, false, policy::PolicyBus::Ata, {}};
        e = policy::verify_policy(g_bytes, len, req, g_view, &pe);
    }
    if (e == policy::VerifyError::Malformed) return refuse(pc.module, "malformed: ", policy::parse_error_name(pe));
    if (e == policy::VerifyError::Rollback) return refuse(pc.module, "older than [policy] min_version (rollback)");
    if (e != policy::VerifyError::None) return refuse(pc.module, policy::verify_error_name(e));
    set_policy_in_force(&g_view);
    set_audit_sink(audit_line);
    g_stats.set_policy(&g_view, 0);
    if (!stats_device_counters_register(PolicyStats::kCounters, stats_counter, nullptr))
        log("policy: no room for its counters (thinvisor-ctl policy will not see them)");
    log("policy: '%s' version %llu in force for disk %s:%s, %u range(s)", pc.module,
        static_cast<unsigned long long>(g_view.version), g_view.bus == policy::PolicyBus::Aoe ? "aoe" : "ata",
        g_view.serial.text, g_view.range_count);
    return true;
}

}  // namespace tv::storage

#endif
