#include "net/policy_fetch.hpp"

#include <stdio.h>
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/timer.hpp"
#include "net/http_message.hpp"
#include "net/netstack.hpp"
#include "net/tls_client.hpp"
#include "net/wall_time.hpp"
#include "storage/policy_boot.hpp"

namespace tv::net {

namespace {

// Polled every 20 ms on the network CPU: a handshake step, the request, the response as it
// arrives. One poll may take at most 30 s from connect to the last byte; it then fails with
// its phase as the reason and the next poll comes an interval later.
constexpr u64 kTickUs = 20'000;
constexpr u64 kPollTimeoutUs = 30'000'000;

enum class Phase : u8 { Idle, Connecting, Sending, Receiving };

char const* phase_name(Phase p) {
    switch (p) {
        case Phase::Idle: return "idle";
        case Phase::Connecting: return "connecting or in the TLS handshake";
        case Phase::Sending: return "sending the request";
        case Phase::Receiving: return "waiting for the response";
    }
    return "?";
}

struct Fetcher {
    HttpsUrl url;
    char const* url_text;
    u32 server_be;
    u64 interval_us;
    TlsTrust* trust;
    TlsClient tls;
    HttpResponse resp;
    HttpValidators validators;
    Phase phase;
    char request[640];
    size_t request_len, request_off;
    u64 started_us, next_us;
    u32 polls;  // finished, either way
    bool logged_304;
    bool logged_handshake;
};

constinit Fetcher g_f{};

void end_poll() {
    g_f.tls.close();
    g_f.phase = Phase::Idle;
    g_f.next_us = clock_us() + g_f.interval_us;
    ++g_f.polls;
}

void poll_failed(char const* why) {
    // Rate-limited by reason: a server that stays down every 5 s must not bury the log.
    if (log_limit_allow("policy-fetch", why)) log("policy: fetch from %s failed: %s", g_f.url_text, why);
    end_poll();
}

void response_done() {
    HttpResponse const& r = g_f.resp;
    if (r.not_modified()) {
        if (!g_f.logged_304) log("policy: fetch from %s: not modified (304); polling every %llu s", g_f.url_text,
                                 static_cast<unsigned long long>(g_f.interval_us / 1'000'000));
        g_f.logged_304 = true;
        return end_poll();
    }
    storage::LiveResult const res = storage::apply_downloaded_policy(r.body_len(), g_f.url_text);
    if (res == storage::LiveResult::Unchanged)
        log("policy: fetch from %s: version %llu, the one in force", g_f.url_text,
            static_cast<unsigned long long>(storage::policy_version_in_force()));
    // Kept also for a refused file: the next poll is a 304 until the administrator replaces
    // it, so a refused policy costs one download and one log line, not one per poll.
    g_f.validators = r.validators();
    end_poll();
}

void start_poll(u64 now) {
    g_f.started_us = now;
    g_f.phase = Phase::Connecting;
    g_f.tls.open(g_f.trust, g_f.server_be, g_f.url.port, g_f.url.host);
}

void receive() {
    u8 buf[1024];
    for (int i = 0; i < 32; ++i) {  // bounded per tick
        long const n = g_f.tls.read(buf, sizeof buf);
        if (n == 0) return;
        if (n == -2) return poll_failed(g_f.tls.error());
        HttpProgress const p = n > 0 ? g_f.resp.feed(buf, static_cast<size_t>(n)) : g_f.resp.closed();
        if (p == HttpProgress::Failed) {
            char why[96];
            if (g_f.resp.error() == HttpError::Status) snprintf(why, sizeof why, "HTTP status %u", g_f.resp.status());
            else snprintf(why, sizeof why, "HTTP: %s", http_error_name(g_f.resp.error()));
            return poll_failed(why);
        }
        if (p == HttpProgress::Done) return response_done();
        if (n < 0) return;  // unreachable: closed() decides
    }
}

void tick() {
    u64 const now = clock_us();
    if (g_f.phase == Phase::Idle) {
        if (now < g_f.next_us) return;
        if (!stack_has_address()) {
            g_f.next_us = now + 1'000'000;
            return;
        }
        start_poll(now);
    }
    if (now - g_f.started_us > kPollTimeoutUs) {
        char why[80];
        snprintf(why, sizeof why, "timed out %s", phase_name(g_f.phase));
        return poll_failed(why);
    }
    if (g_f.phase == Phase::Connecting) {
        TlsState const s = g_f.tls.step();
        if (s == TlsState::Failed) return poll_failed(g_f.tls.error());
        if (s != TlsState::Open) return;
        if (!g_f.logged_handshake) {  // once: what a poll costs the guest (docs/policies.md)
            g_f.logged_handshake = true;
            log("policy: TLS handshake done in %llu ms; its longest step held one exit for %llu ms",
                static_cast<unsigned long long>((now - g_f.started_us) / 1000),
                static_cast<unsigned long long>(g_f.tls.longest_step_us() / 1000));
        }
        storage::PolicyBuffer const b = storage::policy_download_buffer();
        g_f.resp.reset(b.bytes, b.cap);
        g_f.request_len = build_get(g_f.url, g_f.validators, g_f.request, sizeof g_f.request);
        g_f.request_off = 0;
        if (g_f.request_len == 0) return poll_failed("the request does not fit its buffer");
        g_f.phase = Phase::Sending;
    }
    if (g_f.phase == Phase::Sending) {
        long const n = g_f.tls.write(reinterpret_cast<u8 const*>(g_f.request) + g_f.request_off,
                                     g_f.request_len - g_f.request_off);
        if (n < 0) return poll_failed(g_f.tls.error());
        g_f.request_off += static_cast<size_t>(n);
        if (g_f.request_off < g_f.request_len) return;
        g_f.phase = Phase::Receiving;
    }
    if (g_f.phase == Phase::Receiving) receive();
}

u8 cmos(u8 reg) {
    x86::outb(0x70, reg);
    return x86::inb(0x71);
}

// The RTC, once, before the guest runs (the guest owns the CMOS ports afterwards): waits out
// an update in progress and reads until two reads agree.
u64 rtc_unix() {
    for (int attempt = 0; attempt < 5; ++attempt) {
        for (int i = 0; i < 100000 && (cmos(0x0A) & 0x80); ++i) {}
        CmosTime const a{cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32), cmos(0x0B)};
        CmosTime const b{cmos(0x00), cmos(0x02), cmos(0x04), cmos(0x07), cmos(0x08), cmos(0x09), cmos(0x32), cmos(0x0B)};
        if (memcmp(&a, &b, sizeof a) != 0) continue;
        u64 t = 0;
        CmosTime c = a;
        if (!cmos_to_unix(c, &t)) {
            c.century = 0;  // some RTCs have no century register at 0x32
            if (!cmos_to_unix(c, &t)) return 0;
        }
        return t;
    }
    return 0;
}

bool setup(PolicyConfig const& pc, BootInfo const& bi) {
    if (!parse_https_url(pc.url, strlen(pc.url), &g_f.url)) return false;  // the config checked it
    g_f.url_text = pc.url;
    g_f.server_be = pc.server.be;
    g_f.interval_us = u64{pc.interval_s} * 1'000'000;
    BootModule const* m = find_module(bi, pc.ca);
    if (!m || !m->copy) {
        log("policy: no fetch from %s: the CA file '%s' was not loaded as a boot module", pc.url, pc.ca);
        return false;
    }
    char why[120];
    g_f.trust = tls_trust_create(static_cast<u8 const*>(m->copy), m->end - m->start, why, sizeof why);
    if (!g_f.trust) {
        log("policy: no fetch from %s: %s", pc.url, why);
        return false;
    }
    u64 const wall = rtc_unix();
    tls_trust_set_clock(g_f.trust, wall, clock_us());
    if (!wall) log("policy: the RTC holds no valid time: certificate validity dates are not checked");
    return true;
}

}  // namespace

void policy_fetch_start(BootInfo const& bi) {
    Config const* cfg = config();
    if (!cfg || !cfg->policy.present || !cfg->policy.url[0] || !storage::policy_version_in_force()) return;
    PolicyConfig const& pc = cfg->policy;
    if (!setup(pc, bi)) return;
    g_f.phase = Phase::Idle;
    g_f.next_us = 0;
    if (!timer_add_periodic(tick, kTickUs)) {
        log("policy: no room for the fetch tick: no fetch from %s", pc.url);
        return;
    }
    log("policy: fetching %s from %u.%u.%u.%u every %u s", pc.url, pc.server.be & 0xFF, (pc.server.be >> 8) & 0xFF,
        (pc.server.be >> 16) & 0xFF, pc.server.be >> 24, pc.interval_s);
    // The first poll before the guest runs, so that a restart with an older boot module does
    // not run the guest under it while the server has a newer policy (docs/policies.md).
    u64 const t0 = clock_us(), limit = u64{pc.boot_wait_s} * 1'000'000;
    while (g_f.polls == 0 && clock_us() - t0 < limit) {
        stack_tick();
        tick();
        clock_delay_us(1000);
    }
    if (limit)
        log("policy: %s after %llu ms at boot; version %llu in force", g_f.polls ? "first fetch done" : "no answer",
            static_cast<unsigned long long>((clock_us() - t0) / 1000),
            static_cast<unsigned long long>(storage::policy_version_in_force()));
}

}  // namespace tv::net
