// libFuzzer target for the gateway's certificate check (vpn/ike/cert.cpp): arbitrary bytes as
// the CERT payloads' certificates (split in two at the first input byte: end entity and
// intermediate), its IDr and its RFC 7427 AUTH data, checked against the test CA
// (test_ike_certs.hpp) and the identity "gw.test"; then the first part alone as the certificate
// and the second as an RSASSA-PSS signature. Invariants: nothing crashes or reads out of bounds,
// a certificate that is not the test CA's issue is never accepted, no PSS signature verifies.
#include <stddef.h>

#include "tests/unit/fuzz_input.hpp"
#include "tests/unit/test_ike_certs.hpp"
#include "vpn/ike/cert.hpp"
#include "vpn/ike/constants.hpp"

using namespace tv;
using namespace tv::vpn::ike;

namespace {

bool is_prefix_of_a_good_cert(u8 const* p, size_t n) {
    return (n == sizeof ike_certs::gw && memcmp(p, ike_certs::gw, n) == 0) ||
           (n == sizeof ike_certs::gwrsa && memcmp(p, ike_certs::gwrsa, n) == 0) ||
           (n == sizeof ike_certs::gwexp && memcmp(p, ike_certs::gwexp, n) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static PeerVerifier v;
    if (!v.pinned() && v.pin(ike_certs::ca, sizeof ike_certs::ca) != Status::Ok)
        abort();
    if (size < 2 || size > 8192)
        return 0;
    // Private copies of exactly their size, so that ASan sees any read past an end.
    size_t const split = data[0] % 2 == 0 ? size - 1 : (data[0] * (size - 1)) / 255;
    size_t const n1 = split, n2 = size - 1 - split;
    u8* const c1 = static_cast<u8*>(malloc(n1 + 1));
    u8* const c2 = static_cast<u8*>(malloc(n2 + 1));
    memcpy(c1, data + 1, n1);
    memcpy(c2, data + 1 + n1, n2);
    u8 const* certs[2] = {c1, c2};
    size_t const lens[2] = {n1, n2};
    u8 const idr[] = {idtype::kFqdn, 0, 0, 0, 'g', 'w', '.', 't', 'e', 's', 't'};
    CertCheck const c = v.check(certs, lens, n2 == 0 ? 1 : 2, idr, sizeof idr, idtype::kFqdn,
                                idr + 4, sizeof idr - 4);
    if (c == CertCheck::Ok) {
        check(is_prefix_of_a_good_cert(c1, n1), "only the CA's own gw.test certificates pass");
        u8 digest[kDigestBytes] = {};
        (void)v.verify(c2, n2, digest);  // the second part as AUTH data
    }
    // The first part alone as the certificate, the second as the signature of an RSASSA-PSS
    // AUTH: every length, and mbedTLS's PSS check on the modulus-long ones (seed gwrsa_pss_sig:
    // the RSA certificate, then 256 bytes).
    if (n2 != 0 && v.check(certs, lens, 1, idr, sizeof idr, idtype::kFqdn, idr + 4, sizeof idr - 4) == CertCheck::Ok) {
        u8 digest[kDigestBytes] = {};
        u8* const pss = static_cast<u8*>(malloc(1 + 128 + n2));
        size_t const pl = encode_signature_auth(SigScheme::RsaPssSha256, c2, n2, pss, 1 + 128 + n2);
        check(pl != 0 && v.verify(pss, pl, digest) != CertCheck::Ok, "no PSS signature verifies over a zero digest");
        free(pss);
    }
    SigScheme s{};
    u8 const* sig = nullptr;
    size_t sl = 0;
    if (decode_signature_auth(c1, n1, s, sig, sl) == CertCheck::Ok)
        check(sig >= c1 && sig + sl <= c1 + n1, "signature inside the AUTH data");
    free(c1);
    free(c2);
    return 0;
}
