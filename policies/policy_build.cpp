#include "policies/policy_build.hpp"

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/pk.h>
#include <string.h>

#include "policies/policy_verify.hpp"

namespace tv::policy {

namespace {

// Appends `path` to the table unless an earlier range named it; its offset, or ~0u if full.
u32 add_path(char* table, u32& used, char const* path) {
    u32 const n = static_cast<u32>(strlen(path));
    for (u32 p = 0; p < used; p += static_cast<u32>(strlen(table + p)) + 1)
        if (strcmp(table + p, path) == 0) return p;
    if (n == 0 || n > kMaxPathLen || used + n + 1 > kMaxPathBytes) return ~0u;
    memcpy(table + used, path, n + 1);
    u32 const at = used;
    used += n + 1;
    return at;
}

}  // namespace

u64 build_policy(BuildInput const& in, u8* buf, u64 cap) {
    if (in.count == 0 || in.count > kMaxRanges) return 0;
    static char table[kMaxPathBytes];
    u32 used = 0;
    u64 const ranges_len = u64{in.count} * sizeof(PolicyRange);
    if (cap < sizeof(PolicyHeader) + ranges_len) return 0;
    memset(buf, 0, sizeof(PolicyHeader) + ranges_len);
    for (u32 i = 0; i < in.count; ++i) {
        PolicyRange& r = reinterpret_cast<PolicyRange*>(buf + sizeof(PolicyHeader))[i];
        r.offset.set(in.ranges[i].offset);
        r.length.set(in.ranges[i].length);
        r.action = static_cast<u8>(in.ranges[i].action);
        u32 const p = add_path(table, used, in.ranges[i].path);
        if (p == ~0u) return 0;
        r.path_offset.set(p);
    }
    u64 const total = sizeof(PolicyHeader) + ranges_len + used + kSignatureBytes;
    if (total > cap) return 0;
    PolicyHeader& h = *reinterpret_cast<PolicyHeader*>(buf);
    memcpy(h.magic, kMagic, sizeof kMagic);
    h.format_version.set(kFormatVersion);
    h.bus = static_cast<u8>(in.bus);
    crypto::DiskSerial s;
    if (!ok(crypto::make_serial(in.serial, strlen(in.serial), s))) return 0;
    h.serial_len = s.len;
    memcpy(h.serial, s.text, s.len);
    h.policy_version.set(in.version);
    h.range_count.set(in.count);
    h.path_bytes.set(used);
    memcpy(buf + sizeof(PolicyHeader) + ranges_len, table, used);
    memset(buf + total - kSignatureBytes, 0, kSignatureBytes);
    PolicyView v;
    return parse_policy(buf, total, v) == ParseError::None ? total : 0;
}

Status sign_policy(u8* buf, u64 len, u8 const* key, u64 key_len) {
    PolicyView v;
    if (parse_policy(buf, len, v) != ParseError::None) return Status::Invalid;
    u8 digest[32];
    policy_digest(v, digest);
    mbedtls_pk_context pk;
    mbedtls_mpi r, s;
    mbedtls_pk_init(&pk);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    Status st = Status::Invalid;
    if (mbedtls_pk_parse_key(&pk, key, key_len, nullptr, 0) == 0 && mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY) {
        mbedtls_ecp_keypair* ec = mbedtls_pk_ec(pk);
        u8* sig = buf + len - kSignatureBytes;
        if (ec->grp.id == MBEDTLS_ECP_DP_SECP256R1 &&
            mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &s, &ec->d, digest, sizeof digest, MBEDTLS_MD_SHA256, nullptr,
                                       nullptr) == 0 &&
            mbedtls_mpi_write_binary(&r, sig, 32) == 0 && mbedtls_mpi_write_binary(&s, sig + 32, 32) == 0)
            st = Status::Ok;
    }
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_pk_free(&pk);
    return st;
}

u64 public_der_of(u8 const* key, u64 key_len, u8* der, u64 cap) {
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int n = 0;
    if (mbedtls_pk_parse_key(&pk, key, key_len, nullptr, 0) == 0)
        n = mbedtls_pk_write_pubkey_der(&pk, der, cap);  // written at the end of der
    mbedtls_pk_free(&pk);
    if (n <= 0) return 0;
    memmove(der, der + cap - static_cast<u64>(n), static_cast<u64>(n));
    return static_cast<u64>(n);
}

}  // namespace tv::policy
