// thinvisor.conf's [vpn] section: the IPsec tunnel all of the guest's traffic goes through
// (docs/vpn.md, docs/config.md). The PSK itself is never here: `psk` names the boot module
// that holds it; with certificates, `ca`, `cert` and `key` name theirs.
#pragma once

#include "core/types.hpp"

namespace tv {

// The algorithms a proposal can name (strongSwan's spelling), as bits.
enum class VpnAlg : u32 {
    Aes128Gcm16 = 1u << 0,  // "aes128gcm16": AES-GCM, 128-bit key, 16-byte ICV
    Aes256Gcm16 = 1u << 1,  // "aes256gcm16"
    PrfSha256 = 1u << 8,    // "prfsha256": PRF HMAC-SHA2-256
    Curve25519 = 1u << 16,  // "curve25519": DH group 31
    Ecp256 = 1u << 17,      // "ecp256": DH group 19
    Modp2048 = 1u << 18,    // "modp2048": DH group 14
};
constexpr u32 kVpnEncMask = 0xFFu, kVpnPrfMask = 0xFF00u, kVpnDhMask = 0xFF0000u;

struct VpnProposal {
    u32 algs;  // VpnAlg bits: one or more of each kind the proposal needs
};

enum class VpnAuth : u8 { Psk, Cert };

struct VpnConfig {
    static constexpr u32 kMaxGateways = 4, kMaxDns = 3, kMaxProposals = 4;
    bool present;
    struct {
        u32 be;  // IPv4, network byte order
        u16 port;
    } gateways[kMaxGateways];  // in order of preference
    u32 gateway_count;
    char local_id[64], remote_id[64];
    VpnAuth auth;
    bool cert_classic;       // auth = cert-classic: sign with AUTH method 1 or 9, not RFC 7427
    bool rsa_pss;            // rsa_signature = pss: an RSA key signs RSASSA-PSS in method 14
    bool rsa_signature_set;  // rsa_signature was given (it is for auth = cert only)
    char psk[64];            // boot-module name of the PSK file
    char ca[64], cert[64], key[64];  // auth = cert: boot-module names of the pinned CA certificate,
                                     // ours, and our private key (PEM or DER each)
    u32 inner_address_be;    // the guest's address until the gateway's configuration payload gives one
    u8 inner_prefix;         // 1-30
    u32 dns_be[kMaxDns];
    u32 dns_count;
    u32 dpd_interval_s;      // 0: no dead-peer detection
    VpnProposal ike[kMaxProposals], esp[kMaxProposals];
    u32 ike_count, esp_count;
    u32 ike_lifetime_s, child_lifetime_s;
    // Gateway failover (docs/vpn.md, "Gateway failover"): the address each gateway's liveness
    // pings go to inside its tunnel, one for all or one per gateway in order (none: no pings,
    // IKE's DPD and the 10 s set-up limit only); the ping interval, the misses that declare a
    // gateway dead, hot standby, and failback to the first gateway after it answered for a hold.
    u32 liveness_be[kMaxGateways];
    u32 liveness_count;
    u32 liveness_interval_ms[kMaxGateways];  // 10-10000; one for all or one per gateway
    u32 liveness_interval_count;             // 0: the default for all
    u32 liveness_misses[kMaxGateways];       // 1-100; the same
    u32 liveness_misses_count;
    bool standby;
    bool failback_preferred;   // false: stay on the gateway failed over to
    u32 failback_hold_s;       // 1-86400
};

namespace cfg {
struct Span;
// The value of [vpn]'s key number `key` (config.cpp's schema order); false if it is bad.
[[nodiscard]] bool vpn_value(VpnConfig& v, u32 key, Span value);
// The defaults of [vpn]'s optional keys.
void vpn_defaults(VpnConfig& v);
// At the end of [vpn]: the keys the auth method needs, and none of the other's. nullptr if
// fine, else what is wrong.
[[nodiscard]] char const* vpn_auth_check(VpnConfig const& v);
// At the end of [vpn]: one liveness target, interval and miss count for all gateways or one
// for each. nullptr if fine, else what is wrong.
[[nodiscard]] char const* vpn_failover_check(VpnConfig const& v);
}  // namespace cfg

}  // namespace tv
