// RSASSA-PSS in RFC 7427's AUTH method 14 (vpn/ike/pss.cpp, vpn/ike/cert.cpp): our RSA key
// signs PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt when configured, encoded here and
// signed by the Signer's raw RSA operation (a card's seam), checked by mbedTLS's own PSS
// verifier; the gateway's PSS AUTH is verified; a PKCS#1 v1.5 signature under the PSS
// identifier, and PSS with other parameters, are refused. ([vpn] rsa_signature:
// test_ike_config.cpp.)
#include <gtest/gtest.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "tests/unit/test_ike_certs.hpp"
#include "tests/unit/test_ike_fake.hpp"
#include "vpn/ike/file_signer.hpp"

using namespace ike_fake;
namespace certs = ike_certs;

namespace {

// RFC 7427 A.4.3's AlgorithmIdentifier: the first bytes of our AUTH data after its length.
constexpr u8 kPssAlg[] = {0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30, 0x34,
                          0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
                          0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                          0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
                          0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20};
constexpr size_t kRsa2048 = 256;

crypto::Random test_rng() {
    static u32 seed = 11;
    return crypto::Random{&lcg, &seed};
}

template <size_t C, size_t K>
void load(FileSigner& s, u8 const (&cert)[C], u8 const (&key)[K]) {
    Buf k(key, key + K);
    ASSERT_EQ(s.load(cert, C, k.data(), k.size(), test_rng()), Status::Ok);
}

// The RSA certificate's public key, as mbedTLS verifies with it: the independent check.
struct RsaPublic {
    mbedtls_x509_crt crt;
    RsaPublic() {
        mbedtls_x509_crt_init(&crt);
        EXPECT_EQ(mbedtls_x509_crt_parse_der(&crt, certs::gwrsa, sizeof certs::gwrsa), 0);
    }
    ~RsaPublic() { mbedtls_x509_crt_free(&crt); }
    bool pss_ok(u8 const (&digest)[kDigestBytes], u8 const* sig, size_t len) {
        mbedtls_rsa_context* const rsa = mbedtls_pk_rsa(crt.pk);
        return len == mbedtls_rsa_get_len(rsa) &&
               mbedtls_rsa_rsassa_pss_verify_ext(rsa, nullptr, nullptr, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_SHA256, 32,
                                                 digest, MBEDTLS_MD_SHA256, 32, sig) == 0;
    }
};

// The gateway's verifier of the RSA certificate (named gw.test).
struct RsaVerifier {
    PeerVerifier v;
    RsaVerifier() {
        EXPECT_EQ(v.pin(certs::ca, sizeof certs::ca), Status::Ok);
        u8 const* c = certs::gwrsa;
        size_t const cl = sizeof certs::gwrsa;
        Buf id{idtype::kFqdn, 0, 0, 0, 'g', 'w', '.', 't', 'e', 's', 't'};
        EXPECT_EQ(v.check(&c, &cl, 1, id.data(), id.size(), idtype::kFqdn, reinterpret_cast<u8 const*>("gw.test"), 7),
                  CertCheck::Ok);
    }
};

Buf pss_auth(u8 const* sig, size_t len) {
    Buf a{static_cast<u8>(sizeof kPssAlg)};
    a.insert(a.end(), kPssAlg, kPssAlg + sizeof kPssAlg);
    a.insert(a.end(), sig, sig + len);
    return a;
}

Config pss_config() {
    Config c = test_config();
    c.rsa_pss = true;
    return c;
}

struct Rig {
    FakeNet net;
    FakeClock clock;
    FakeEvents ev;
    u32 seed = 5;
    Initiator ini{net, clock, ev, crypto::Random{&lcg, &seed}};
    FakeGateway gw;
    FileSigner mine, theirs;
    Buf const& last() { return net.sent.back().bytes; }
    void deliver(Buf const& m, u16 port = kNattPort) {
        Buf d = m;
        if (port == kNattPort)
            d.insert(d.begin(), 4, 0);
        ini.on_datagram(port, d.data(), d.size());
    }
    void to_auth() {
        ini.start();
        deliver(gw.init_response(last()), kIkePort);
    }
};

}  // namespace

TEST(IkePss, SignatureOfTheSignerVerifiesWithMbedtlsPssAndNotAsPkcs1) {
    FileSigner rsa;
    load(rsa, certs::gwrsa, certs::gwrsa_key);
    EXPECT_EQ(rsa.rsa_bits(), 2048u);
    u8 digest[kDigestBytes];
    for (size_t i = 0; i < sizeof digest; ++i)
        digest[i] = static_cast<u8>(i * 7 + 1);
    u8 sig[kMaxSignature], again[kMaxSignature];
    size_t const n = sign_rsa_pss(rsa, digest, test_rng(), sig, sizeof sig);
    ASSERT_EQ(n, kRsa2048);
    RsaPublic pub;
    EXPECT_TRUE(pub.pss_ok(digest, sig, n));
    ASSERT_EQ(sign_rsa_pss(rsa, digest, test_rng(), again, sizeof again), kRsa2048);
    EXPECT_NE(memcmp(sig, again, n), 0);  // a fresh salt each time
    EXPECT_TRUE(pub.pss_ok(digest, again, n));
    EXPECT_NE(mbedtls_pk_verify(&pub.crt.pk, MBEDTLS_MD_SHA256, digest, 32, sig, n), 0);  // not a v1.5 block
    digest[0] ^= 1;
    EXPECT_FALSE(pub.pss_ok(digest, sig, n));
    EXPECT_EQ(sign_rsa_pss(rsa, digest, test_rng(), sig, kRsa2048 - 1), 0u);  // no room
}

TEST(IkePss, EncodingClearsTheTopBitsAndPadsWhenTheModulusBitsAreOneMoreThanBytes) {
    u8 digest[kDigestBytes] = {1, 2, 3}, salt[kPssSaltBytes] = {9};
    u8 em[kMaxSignature];
    ASSERT_EQ(emsa_pss_encode(digest, salt, 2048, em, sizeof em), 256u);
    EXPECT_EQ(em[0] & 0x80, 0);  // emBits = 2047
    EXPECT_EQ(em[255], 0xbc);
    ASSERT_EQ(emsa_pss_encode(digest, salt, 2049, em, sizeof em), 257u);
    EXPECT_EQ(em[0], 0);  // emLen = 256: the block starts with a zero byte
    EXPECT_EQ(em[256], 0xbc);
    EXPECT_EQ(emsa_pss_encode(digest, salt, 8 * (32 + 32 + 1), em, sizeof em), 0u);  // too small for H and salt
}

TEST(IkePss, SignersWithoutRawRsaCannotSignPss) {
    FileSigner ec;
    load(ec, certs::client, certs::client_key);
    EXPECT_EQ(ec.rsa_bits(), 0u);
    u8 digest[kDigestBytes] = {}, sig[kMaxSignature], block[kRsa2048] = {};
    EXPECT_EQ(sign_rsa_pss(ec, digest, test_rng(), sig, sizeof sig), 0u);
    EXPECT_EQ(ec.rsa_raw(block, sizeof block, sig, sizeof sig), 0u);
    FileSigner rsa;
    load(rsa, certs::gwrsa, certs::gwrsa_key);
    EXPECT_EQ(rsa.rsa_raw(block, sizeof block - 1, sig, sizeof sig), 0u);  // not the modulus' length
}

TEST(IkePss, RsaClientKeySignsTheAuthOctetsWithRsassaPssWhenConfigured) {
    Rig r;
    load(r.mine, certs::gwrsa, certs::gwrsa_key);  // an RSA certificate of ours (any name will do here)
    load(r.theirs, certs::gw, certs::gw_key);
    r.gw.signer = &r.theirs;
    ASSERT_EQ(r.ini.configure_cert(pss_config(), r.mine, certs::ca, sizeof certs::ca), Status::Ok);
    r.to_auth();
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* auth = in.find(Payload::AUTH);
    PayloadRef const* idi = in.find(Payload::IDi);
    ASSERT_TRUE(auth != nullptr && idi != nullptr);
    EXPECT_EQ(plain[auth->off], kAuthDigitalSignature);
    Buf const data(plain.data() + auth->off + 4, plain.data() + auth->off + auth->len);
    ASSERT_EQ(data.size(), 1 + sizeof kPssAlg + kRsa2048);
    EXPECT_EQ(data[0], sizeof kPssAlg);
    EXPECT_EQ(memcmp(data.data() + 1, kPssAlg, sizeof kPssAlg), 0);
    u8 digest[kDigestBytes];
    Buf const msg1 = r.net.sent[0].bytes;
    ASSERT_TRUE(signed_digest(msg1.data(), msg1.size(), r.gw.nr, sizeof r.gw.nr, r.gw.keys.sk_pi,
                              plain.data() + idi->off, idi->len, digest));
    u8 const* sig = data.data() + 1 + sizeof kPssAlg;
    RsaPublic pub;
    EXPECT_TRUE(pub.pss_ok(digest, sig, kRsa2048));  // mbedTLS's PSS verifier over the IKE AUTH octets
    RsaVerifier v;
    EXPECT_EQ(v.v.verify(data.data(), data.size(), digest), CertCheck::Ok);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkePss, EcdsaKeySignsEcdsaWhateverRsaSignatureSays) {
    Rig r;
    load(r.mine, certs::client, certs::client_key);
    load(r.theirs, certs::gw, certs::gw_key);
    r.gw.signer = &r.theirs;
    ASSERT_EQ(r.ini.configure_cert(pss_config(), r.mine, certs::ca, sizeof certs::ca), Status::Ok);
    r.to_auth();
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkePss, GatewaySigningWithPssIsVerifiedAndAFlippedBitRefused) {
    for (bool bad : {false, true}) {
        Rig r;
        load(r.mine, certs::client, certs::client_key);
        load(r.theirs, certs::gwrsa, certs::gwrsa_key);
        r.gw.signer = &r.theirs;
        r.gw.pss = true;
        ASSERT_EQ(r.ini.configure_cert(test_config(), r.mine, certs::ca, sizeof certs::ca), Status::Ok);
        r.to_auth();
        FakeGateway::AuthOpts o;
        o.bad_auth = bad;
        r.deliver(r.gw.auth_response(r.last(), o));
        EXPECT_EQ(r.ev.ups, bad ? 0 : 1) << bad;
        if (bad) {
            EXPECT_EQ(r.ini.last_error(), Error::PeerAuthBad);
        } else {
            EXPECT_EQ(r.ini.state(), State::Established);
        }
    }
}

TEST(IkePss, Pkcs1SignatureUnderThePssIdentifierIsRefused) {
    FileSigner rsa;
    load(rsa, certs::gwrsa, certs::gwrsa_key);
    u8 digest[kDigestBytes] = {0x42};
    u8 sig[kMaxSignature];
    size_t const n = rsa.sign(digest, sig, sizeof sig);  // PKCS#1 v1.5
    ASSERT_EQ(n, kRsa2048);
    RsaVerifier v;
    u8 enc[1 + 16 + kMaxSignature];
    size_t const el = encode_signature_auth(SigScheme::RsaPkcs1Sha256, sig, n, enc, sizeof enc);
    EXPECT_EQ(v.v.verify(enc, el, digest), CertCheck::Ok);  // under its own identifier it verifies
    Buf const under_pss = pss_auth(sig, n);
    EXPECT_EQ(v.v.verify(under_pss.data(), under_pss.size(), digest), CertCheck::BadSignature);
    size_t const pn = sign_rsa_pss(rsa, digest, test_rng(), sig, sizeof sig);
    Buf const good = pss_auth(sig, pn);
    EXPECT_EQ(v.v.verify(good.data(), good.size(), digest), CertCheck::Ok);
    Buf const short_sig = pss_auth(sig, pn - 1);
    EXPECT_EQ(v.v.verify(short_sig.data(), short_sig.size(), digest), CertCheck::BadSignature);
}

TEST(IkePss, PssWithOtherParametersIsUnsupported) {
    RsaVerifier v;
    u8 digest[kDigestBytes] = {};
    u8 sig[kRsa2048] = {};
    Buf salt20 = pss_auth(sig, sizeof sig);
    salt20[1 + sizeof kPssAlg - 1] = 20;  // saltLength 20
    EXPECT_EQ(v.v.verify(salt20.data(), salt20.size(), digest), CertCheck::Unsupported);
    Buf sha384 = pss_auth(sig, sizeof sig);
    sha384[1 + 29] = 0x02;  // the hash's OID ends in 2: SHA-384
    EXPECT_EQ(v.v.verify(sha384.data(), sha384.size(), digest), CertCheck::Unsupported);
    u8 const bare[] = {0x0d, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x00};
    EXPECT_EQ(v.v.verify(bare, sizeof bare, digest), CertCheck::Unsupported);  // id-RSASSA-PSS, no parameters
}
