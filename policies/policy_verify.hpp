// The monitor's acceptance of a policy (docs/policies.md): parsed strictly, signed by the
// administrator's pinned key, newer than the policy in force, meant for the disk it is
// applied to. Pure apart from mbedTLS (SHA-256, ECDSA P-256): host-tested, and the same code
// runs in the monitor and in `thinvisor-policy verify`.
#pragma once

#include "core/types.hpp"
#include "policies/policy_format.hpp"

namespace tv::policy {

// The administrator's public key: a P-256 point, uncompressed (0x04 || X || Y).
struct PinnedKey {
    u8 point[65];
};

// From a DER SubjectPublicKeyInfo (`openssl pkey -pubin -outform DER`): Invalid unless it
// is an EC key on P-256.
[[nodiscard]] Status pubkey_from_der(u8 const* der, u64 len, PinnedKey& out);
// From its one-line form in thinvisor.conf: the base64 of that DER (a PEM file's body
// without its BEGIN/END lines and line breaks).
[[nodiscard]] Status pubkey_from_base64(char const* text, u64 len, PinnedKey& out);

enum class VerifyError : u8 {
    None,
    Malformed,   // parse_policy refused it
    Unsigned,    // the signature is all zero (a policy compiled without a key)
    Signature,   // tampered, or signed by another key: the two cannot be told apart
    Rollback,    // its version is not larger than the one in force
    OtherDisk,   // made for another disk
};
char const* verify_error_name(VerifyError e);

struct VerifyRequest {
    PinnedKey const* key;
    u64 version_in_force;                  // 0: none in force yet
    bool check_disk;                       // compare with the disk below
    PolicyBus bus;
    crypto::DiskSerial serial;
};

// On None, `out` views the policy (in `bytes`); `parse` says why a Malformed one was refused.
[[nodiscard]] VerifyError verify_policy(u8 const* bytes, u64 len, VerifyRequest const& req, PolicyView& out,
                                        ParseError* parse = nullptr);

// SHA-256 of the signed part (for the compiler's signature, and the tests).
void policy_digest(PolicyView const& v, u8 (&digest)[32]);

}  // namespace tv::policy
