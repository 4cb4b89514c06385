// Writing a policy file (tools/thinvisor-policy, and the tests that need valid and broken
// ones): the records of policy_format.hpp, then the signature. Host only.
#pragma once

#include "core/types.hpp"
#include "policies/policy_format.hpp"

namespace tv::policy {

struct BuildInput {
    PolicyBus bus;
    char const* serial;     // as the disk reports it; trimmed here
    u64 version;
    Range const* ranges;    // sorted by offset, non-overlapping
    u32 count;
};

// The unsigned policy (signature zero) into buf; its length, or 0 when the input is not a
// valid policy (checked by parsing the result) or does not fit in cap bytes.
[[nodiscard]] u64 build_policy(BuildInput const& in, u8* buf, u64 cap);

// Signs a built policy in place with a PEM or DER EC P-256 private key (deterministic ECDSA,
// RFC 6979: the same input gives the same file). Invalid for another kind of key.
[[nodiscard]] Status sign_policy(u8* buf, u64 len, u8 const* key, u64 key_len);

// The DER SubjectPublicKeyInfo of a private key's public half (for `--pubout` and tests);
// its length, or 0.
[[nodiscard]] u64 public_der_of(u8 const* key, u64 key_len, u8* der, u64 cap);

}  // namespace tv::policy
