#include "policies/policy_verify.hpp"

#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <string.h>

namespace tv::policy {

namespace {

bool all_zero(u8 const* p, u64 n) {
    u8 acc = 0;
    for (u64 i = 0; i < n; ++i) acc = static_cast<u8>(acc | p[i]);
    return acc == 0;
}

// ECDSA P-256 over `digest` with r || s from the policy; false on any mbedTLS error.
bool signature_valid(PinnedKey const& key, u8 const (&digest)[32], u8 const* sig) {
    mbedtls_ecp_group grp;
    mbedtls_ecp_point q;
    mbedtls_mpi r, s;
    mbedtls_ecp_group_init(&grp);
    mbedtls_ecp_point_init(&q);
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    bool good = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1) == 0 &&
                mbedtls_ecp_point_read_binary(&grp, &q, key.point, sizeof key.point) == 0 &&
                mbedtls_ecp_check_pubkey(&grp, &q) == 0 && mbedtls_mpi_read_binary(&r, sig, 32) == 0 &&
                mbedtls_mpi_read_binary(&s, sig + 32, 32) == 0 &&
                mbedtls_ecdsa_verify(&grp, digest, sizeof digest, &q, &r, &s) == 0;
    mbedtls_mpi_free(&s);
    mbedtls_mpi_free(&r);
    mbedtls_ecp_point_free(&q);
    mbedtls_ecp_group_free(&grp);
    return good;
}

}  // namespace

Status pubkey_from_der(u8 const* der, u64 len, PinnedKey& out) {
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    Status st = Status::Invalid;
    if (mbedtls_pk_parse_public_key(&pk, der, len) == 0 && mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY) {
        mbedtls_ecp_keypair const* ec = mbedtls_pk_ec(pk);
        size_t n = 0;
        if (ec->grp.id == MBEDTLS_ECP_DP_SECP256R1 &&
            mbedtls_ecp_point_write_binary(&ec->grp, &ec->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &n, out.point,
                                           sizeof out.point) == 0 &&
            n == sizeof out.point)
            st = Status::Ok;
    }
    mbedtls_pk_free(&pk);
    return st;
}

Status pubkey_from_base64(char const* text, u64 len, PinnedKey& out) {
    u8 der[256];
    size_t n = 0;
    if (mbedtls_base64_decode(der, sizeof der, &n, reinterpret_cast<u8 const*>(text), len) != 0) return Status::Invalid;
    return pubkey_from_der(der, n, out);
}

char const* verify_error_name(VerifyError e) {
    switch (e) {
        case VerifyError::None: return "ok";
        case VerifyError::Malformed: return "malformed";
        case VerifyError::Unsigned: return "unsigned";
        case VerifyError::Signature: return "bad signature (tampered, or signed by another key)";
        case VerifyError::Rollback: return "not newer than the policy in force (rollback)";
        case VerifyError::OtherDisk: return "made for another disk";
    }
    return "?";
}

void policy_digest(PolicyView const& v, u8 (&digest)[32]) {
    mbedtls_sha256_ret(v.signed_bytes, v.signed_len, digest, 0);
}

VerifyError verify_policy(u8 const* bytes, u64 len, VerifyRequest const& req, PolicyView& out, ParseError* parse) {
    out = PolicyView{};
    PolicyView v;
    ParseError const e = parse_policy(bytes, len, v);
    if (parse) *parse = e;
    if (e != ParseError::None) return VerifyError::Malformed;
    if (all_zero(v.signature, kSignatureBytes)) return VerifyError::Unsigned;
    u8 digest[32];
    policy_digest(v, digest);
    if (!req.key || !signature_valid(*req.key, digest, v.signature)) return VerifyError::Signature;
    if (v.version <= req.version_in_force) return VerifyError::Rollback;
    if (req.check_disk && !policy_for_disk(v, req.bus, req.serial)) return VerifyError::OtherDisk;
    out = v;
    return VerifyError::None;
}

}  // namespace tv::policy
