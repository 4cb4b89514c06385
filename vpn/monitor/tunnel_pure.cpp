#include "vpn/monitor/tunnel_pure.hpp"

#include <string.h>

#include "vpn/esp_udp.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/sa.hpp"

namespace tv::vpn {

namespace {

bool parse_ipv4(char const* s, u8 (&out)[4]) {
    for (u32 i = 0; i < 4; ++i) {
        u32 v = 0, digits = 0;
        while (*s >= '0' && *s <= '9' && digits < 4) {
            v = v * 10 + static_cast<u32>(*s++ - '0');
            ++digits;
        }
        if (digits == 0 || v > 255 || *s != (i < 3 ? '.' : '\0')) return false;
        out[i] = static_cast<u8>(v);
        ++s;
    }
    return true;
}

void put16(u8* p, u32 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}

u16 ip_checksum(u8 const* h, u32 len) {
    u32 sum = 0;
    for (u32 i = 0; i + 1 < len; i += 2) sum += u32{h[i]} << 8 | h[i + 1];
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return static_cast<u16>(~sum);
}

bool has(u32 algs, VpnAlg a) { return (algs & static_cast<u32>(a)) != 0; }

}  // namespace

ike::Identity ike_identity(char const* s) {
    ike::Identity id{};
    u8 a[4];
    if (parse_ipv4(s, a)) {
        id.type = ike::idtype::kIpv4;
        id.len = 4;
        memcpy(id.data, a, 4);
        return id;
    }
    id.type = strchr(s, '@') && s[0] != '@' ? ike::idtype::kRfc822 : ike::idtype::kFqdn;
    if (s[0] == '@') ++s;
    size_t const len = strnlen(s, sizeof id.data);
    id.len = static_cast<u8>(len);
    memcpy(id.data, s, len);
    return id;
}

ike::Config ike_config(VpnConfig const& v, IkeTimers const& t) {
    ike::Config c{};
    memcpy(c.gateway_ip, &v.gateways[0].be, 4);
    c.local_id = ike_identity(v.local_id);
    c.remote_id = ike_identity(v.remote_id);
    u32 ike = 0, esp = 0;
    for (u32 i = 0; i < v.ike_count; ++i) ike |= v.ike[i].algs;
    for (u32 i = 0; i < v.esp_count; ++i) esp |= v.esp[i].algs;
    u32 g = 0;
    if (has(ike, VpnAlg::Curve25519)) c.groups[g++] = ike::group::kCurve25519;
    if (has(ike, VpnAlg::Ecp256)) c.groups[g++] = ike::group::kEcp256;
    if (has(ike, VpnAlg::Modp2048)) c.groups[g++] = ike::group::kModp2048;
    // The initiator offers one list of key sizes for IKE and ESP: those both allow.
    u32 k = 0;
    if (has(ike & esp, VpnAlg::Aes256Gcm16)) c.key_bits[k++] = 256;
    if (has(ike & esp, VpnAlg::Aes128Gcm16)) c.key_bits[k++] = 128;
    c.retransmit_ms = t.retransmit_ms;
    c.retransmit_max_ms = t.retransmit_max_ms;
    c.retransmit_tries = t.retransmit_tries;
    c.restart_ms = t.restart_ms;
    c.keepalive_ms = t.keepalive_ms;
    c.dpd_ms = v.dpd_interval_s * 1000;
    c.child_rekey_ms = v.child_lifetime_s * 1000;
    c.ike_rekey_ms = v.ike_lifetime_s * 1000;
    c.force_encap = true;  // kernel-libipsec, and our ESP, always use UDP 4500
    c.classic_sig = v.cert_classic;
    c.rsa_pss = v.rsa_pss;
    c.gateway_port = v.gateways[0].port;
    return c;
}

u32 outer_frame(u8* f, u8 const (&dst_mac)[6], u8 const (&src_mac)[6], u32 src_be, u32 dst_be, u16 ip_id,
                u32 esp_len, u16 dst_port) {
    constexpr u32 kEth = 14, kIp = 20, kUdp = 8;
    u32 const ip_len = kIp + kUdp + esp_len;
    memcpy(f, dst_mac, 6);
    memcpy(f + 6, src_mac, 6);
    put16(f + 12, 0x0800);
    u8* ip = f + kEth;
    ip[0] = 0x45;
    ip[1] = 0;
    put16(ip + 2, ip_len);
    put16(ip + 4, ip_id);
    put16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = 17;
    put16(ip + 10, 0);
    memcpy(ip + 12, &src_be, 4);
    memcpy(ip + 16, &dst_be, 4);
    put16(ip + 10, ip_checksum(ip, kIp));
    u8* udp = ip + kIp;
    put16(udp, kNatTPort);
    put16(udp + 2, dst_port);
    put16(udp + 4, kUdp + esp_len);
    put16(udp + 6, 0);
    return kEth + ip_len;
}

bool sa_coming_up(ike::State s, u32 spi_out, u64 restart_at_ms, u64 now_ms, u64 within_ms) {
    if (spi_out != 0) return false;
    if (s == ike::State::InitSent || s == ike::State::AuthSent) return true;
    return restart_at_ms != 0 && restart_at_ms <= now_ms + within_ms;
}

}  // namespace tv::vpn
