#include "core/config_vpn.hpp"

#include "core/config_values.hpp"

namespace tv::cfg {

namespace {

struct AlgName {
    char const* name;
    VpnAlg alg;
};
constexpr AlgName kAlgs[] = {{"aes128gcm16", VpnAlg::Aes128Gcm16}, {"aes256gcm16", VpnAlg::Aes256Gcm16},
                             {"prfsha256", VpnAlg::PrfSha256},     {"curve25519", VpnAlg::Curve25519},
                             {"ecp256", VpnAlg::Ecp256},           {"modp2048", VpnAlg::Modp2048}};

// Calls `fn(item)` for each comma-separated, trimmed item; false on an empty item or when
// fn refuses one.
template <class Fn>
bool each_item(Span s, Fn fn) {
    size_t start = 0;
    for (size_t i = 0; i <= s.n; ++i) {
        if (i < s.n && s.p[i] != ',') continue;
        Span const item = trim(Span{s.p + start, i - start});
        if (item.n == 0 || !fn(item)) return false;
        start = i + 1;
    }
    return true;
}

bool parse_u32_ipv4(Span s, u32* be) {
    Ipv4 ip;
    if (!parse_ipv4(s, &ip)) return false;
    *be = ip.be;
    return true;
}

bool parse_gateway(Span s, VpnConfig& v) {
    if (v.gateway_count == VpnConfig::kMaxGateways) return false;
    size_t colon = 0;
    while (colon < s.n && s.p[colon] != ':') ++colon;
    u64 port = 500;
    if (colon < s.n && (!parse_u64(Span{s.p + colon + 1, s.n - colon - 1}, 65535, &port) || port == 0)) return false;
    auto& g = v.gateways[v.gateway_count];
    if (!parse_u32_ipv4(Span{s.p, colon}, &g.be) || g.be == 0) return false;
    g.port = static_cast<u16>(port);
    ++v.gateway_count;
    return true;
}

// A.B.C.D/N with 1 <= N <= 30, not the subnet's network or broadcast address: the subnet
// must hold the guest and the virtual gateway.
bool parse_inner(Span s, VpnConfig& v) {
    size_t slash = 0;
    while (slash < s.n && s.p[slash] != '/') ++slash;
    u64 prefix;
    u32 be;
    if (slash == s.n || !parse_u32_ipv4(Span{s.p, slash}, &be) ||
        !parse_u64(Span{s.p + slash + 1, s.n - slash - 1}, 30, &prefix) || prefix < 1)
        return false;
    u32 const a = __builtin_bswap32(be), mask = ~0u << (32 - prefix);
    if ((a & ~mask) == 0 || (a & ~mask) == ~mask) return false;
    v.inner_address_be = be;
    v.inner_prefix = static_cast<u8>(prefix);
    return true;
}

// One proposal, algorithm names joined by '-'; each name at most once. An IKE proposal needs
// an encryption algorithm, a PRF and a DH group; an ESP proposal an encryption algorithm and
// nothing else (no PFS group for now).
bool parse_proposal(Span s, bool ike, VpnProposal* out) {
    u32 algs = 0;
    size_t start = 0;
    for (size_t i = 0; i <= s.n; ++i) {
        if (i < s.n && s.p[i] != '-') continue;
        Span const name{s.p + start, i - start};
        u32 bit = 0;
        for (AlgName const& a : kAlgs)
            if (name.is(a.name)) bit = static_cast<u32>(a.alg);
        if (!bit || (algs & bit)) return false;
        algs |= bit;
        start = i + 1;
    }
    bool const good = ike ? (algs & kVpnEncMask) && (algs & kVpnPrfMask) && (algs & kVpnDhMask)
                          : (algs & kVpnEncMask) && !(algs & ~kVpnEncMask);
    out->algs = algs;
    return good;
}

bool parse_proposals(Span s, bool ike, VpnProposal* list, u32* count) {
    *count = 0;
    return each_item(s, [&](Span item) {
        return *count < VpnConfig::kMaxProposals && parse_proposal(item, ike, &list[(*count)++]);
    });
}

// A number in [min, max] (seconds, milliseconds or a count).
bool parse_seconds(Span s, u64 min, u64 max, u32* out) {
    u64 x;
    if (!parse_u64(s, max, &x) || x < min) return false;
    *out = static_cast<u32>(x);
    return true;
}

// One number in [min, max] for all gateways or a comma-separated one per gateway.
bool parse_list(Span s, u64 min, u64 max, u32 (&out)[VpnConfig::kMaxGateways], u32* count) {
    *count = 0;
    return each_item(s, [&](Span item) {
        return *count < VpnConfig::kMaxGateways && parse_seconds(item, min, max, &out[(*count)++]);
    });
}

bool parse_failback(Span s, VpnConfig& v) {
    if (s.is("stay")) v.failback_preferred = false;
    else if (s.is("preferred")) v.failback_preferred = true;
    else return false;
    return true;
}

// rsa_signature: how an RSA client key signs in RFC 7427's method 14.
bool parse_rsa_signature(Span s, VpnConfig& v) {
    if (s.is("pss")) v.rsa_pss = true;
    else if (s.is("pkcs1")) v.rsa_pss = false;
    else return false;
    v.rsa_signature_set = true;
    return true;
}

bool parse_auth(Span s, VpnConfig& v) {
    v.cert_classic = s.is("cert-classic");  // certificates, AUTH methods 1/9 (no RFC 7427)
    if (s.is("psk")) v.auth = VpnAuth::Psk;
    else if (s.is("cert") || v.cert_classic) v.auth = VpnAuth::Cert;
    else return false;
    return true;
}

}  // namespace

void vpn_defaults(VpnConfig& v) {
    v.dpd_interval_s = 30;
    v.ike_lifetime_s = 14400;   // 4 h, strongSwan's IKE rekey time
    v.child_lifetime_s = 3600;  // 1 h, its child SA rekey time
    v.ike[0].algs = static_cast<u32>(VpnAlg::Aes256Gcm16) | static_cast<u32>(VpnAlg::Aes128Gcm16) |
                    static_cast<u32>(VpnAlg::PrfSha256) | static_cast<u32>(VpnAlg::Curve25519) |
                    static_cast<u32>(VpnAlg::Ecp256) | static_cast<u32>(VpnAlg::Modp2048);
    v.ike_count = 1;
    v.esp[0].algs = static_cast<u32>(VpnAlg::Aes256Gcm16) | static_cast<u32>(VpnAlg::Aes128Gcm16);
    v.esp_count = 1;
    v.liveness_interval_ms[0] = 100;
    v.liveness_misses[0] = 3;
    v.standby = true;
    v.failback_hold_s = 60;
}

bool vpn_value(VpnConfig& v, u32 key, Span s) {
    switch (key) {
        case 0: return each_item(s, [&](Span g) { return parse_gateway(g, v); });
        case 1: return copy_string(s, v.local_id, sizeof v.local_id);
        case 2: return copy_string(s, v.remote_id, sizeof v.remote_id);
        case 3: return parse_auth(s, v);
        case 4: return copy_string(s, v.psk, sizeof v.psk);
        case 5: return parse_inner(s, v);
        case 6:
            return each_item(s, [&](Span d) {
                return v.dns_count < VpnConfig::kMaxDns && parse_u32_ipv4(d, &v.dns_be[v.dns_count++]);
            });
        case 7: return parse_seconds(s, 0, 3600, &v.dpd_interval_s);
        case 8: return parse_proposals(s, true, v.ike, &v.ike_count);
        case 9: return parse_proposals(s, false, v.esp, &v.esp_count);
        case 10: return parse_seconds(s, 10, 86400, &v.ike_lifetime_s);
        case 11: return parse_seconds(s, 10, 86400, &v.child_lifetime_s);
        case 12: return copy_string(s, v.ca, sizeof v.ca);
        case 13: return copy_string(s, v.cert, sizeof v.cert);
        case 14: return copy_string(s, v.key, sizeof v.key);
        case 15:
            return each_item(s, [&](Span t) {
                return v.liveness_count < VpnConfig::kMaxGateways &&
                       parse_u32_ipv4(t, &v.liveness_be[v.liveness_count++]) && v.liveness_be[v.liveness_count - 1];
            });
        case 16: return parse_list(s, 10, 10000, v.liveness_interval_ms, &v.liveness_interval_count);
        case 17: return parse_list(s, 1, 100, v.liveness_misses, &v.liveness_misses_count);
        case 18: return parse_bool(s, &v.standby);
        case 19: return parse_failback(s, v);
        case 20: return parse_seconds(s, 1, 86400, &v.failback_hold_s);
        default: return parse_rsa_signature(s, v);
    }
}

char const* vpn_failover_check(VpnConfig const& v) {
    auto const fits = [&](u32 n) { return n <= 1 || n == v.gateway_count; };
    if (!fits(v.liveness_count)) return "[vpn]: 'liveness_target' needs one address for all gateways or one for each";
    if (!fits(v.liveness_interval_count))
        return "[vpn]: 'liveness_interval' needs one value for all gateways or one for each";
    if (!fits(v.liveness_misses_count))
        return "[vpn]: 'liveness_misses' needs one value for all gateways or one for each";
    // The standby SA is how the monitor sees the preferred gateway answer again; without it
    // there is nothing to count the hold on.
    if (v.failback_preferred && !v.standby) return "[vpn]: 'failback = preferred' needs 'standby = yes'";
    return nullptr;
}

char const* vpn_auth_check(VpnConfig const& v) {
    bool const psk = v.psk[0] != 0, ca = v.ca[0] != 0, cert = v.cert[0] != 0, key = v.key[0] != 0;
    if (v.auth == VpnAuth::Psk && !psk) return "section [vpn] lacks the required key 'psk' (auth = psk)";
    if (v.auth == VpnAuth::Psk && (ca || cert || key)) return "[vpn]: 'ca', 'cert' and 'key' are for auth = cert";
    if (v.auth == VpnAuth::Cert && !(ca && cert && key))
        return "section [vpn] lacks a required key: auth = cert needs 'ca', 'cert' and 'key'";
    if (v.auth == VpnAuth::Cert && psk) return "[vpn]: 'psk' is for auth = psk";
    if (v.rsa_signature_set && v.auth != VpnAuth::Cert) return "[vpn]: 'rsa_signature' is for auth = cert";
    if (v.rsa_pss && v.cert_classic)
        return "[vpn]: 'rsa_signature = pss' needs RFC 7427 (auth = cert): method 1 is PKCS#1 v1.5 over SHA-1";
    return nullptr;
}

}  // namespace tv::cfg
