// Two throwaway P-256 keys for the policy tests (made with `openssl ecparam -genkey`): the
// administrator's (SEC1 PEM) and another one (PKCS#8 PEM), so both encodings get parsed.
#pragma once

#include <string.h>

#include <vector>

#include "policies/policy_build.hpp"
#include "policies/policy_verify.hpp"

namespace policy_test {

inline constexpr char kAdminKey[] =
    "-----BEGIN EC PRIVATE KEY-----\n"
    "MHcCAQEEII6/7VeHhKsaOKUVHjgRC53+BHMYkn/x34qr7v8IkPUzoAoGCCqGSM49\n"
    "AwEHoUQDQgAEkY2rgWZgIO/YlbAZK4tohhKs5yJ3//YFu/jTsNnxSwaw0bKs4/ro\n"
    "RVml/REvncyLe16ENimyGi4rlbxkk9ObhQ==\n"
    "-----END EC PRIVATE KEY-----\n";
// Its public half as thinvisor.conf pins it.
inline constexpr char kAdminPub[] =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEkY2rgWZgIO/YlbAZK4tohhKs5yJ3//YFu/jTsNnxSwaw0bKs4/roRVml/REvncyLe16ENimyGi4rlbxkk9ObhQ==";
inline constexpr char kOtherKey[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQglybd1aq87L3+EIZq\n"
    "hz/rcl1Xd2kDhUVAmwld4rIwyvGhRANCAATdhLsJ1Y60ER1p8rXTaseJ+D2UnyyU\n"
    "e0A26+q+EtuNfCyx3RbvMgfTQL//4FtfXgtZjjfkI3iB3NrhLPu5ReVt\n"
    "-----END PRIVATE KEY-----\n";

inline tv::policy::PinnedKey admin_pinned() {
    tv::policy::PinnedKey k{};
    if (!tv::ok(tv::policy::pubkey_from_base64(kAdminPub, strlen(kAdminPub), k))) abort();
    return k;
}

// A built policy; signed with `key` (PEM text) unless it is null.
inline std::vector<tv::u8> make_policy(tv::policy::Range const* ranges, tv::u32 n, tv::u64 version = 2,
                                       char const* serial = "QM00001", char const* key = kAdminKey,
                                       tv::policy::PolicyBus bus = tv::policy::PolicyBus::Ata) {
    std::vector<tv::u8> buf(tv::policy::kMaxPolicyBytes);
    tv::policy::BuildInput in{bus, serial, version, ranges, n};
    tv::u64 const len = tv::policy::build_policy(in, buf.data(), buf.size());
    buf.resize(len);
    if (len && key &&
        !tv::ok(tv::policy::sign_policy(buf.data(), len, reinterpret_cast<tv::u8 const*>(key), strlen(key) + 1)))
        buf.clear();
    return buf;
}

}  // namespace policy_test
