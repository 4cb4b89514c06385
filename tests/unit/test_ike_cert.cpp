// Certificate authentication: the gateway's certificate checked against the pinned CA and the
// expected identity (vpn/ike/cert.cpp), our FileSigner (vpn/ike/file_signer.cpp), the RFC 7427
// AUTH encoding, and IKE_AUTH with certificates in the initiator against the scripted gateway.
// The certificates are in test_ike_certs.hpp.
#include <gtest/gtest.h>

#include "tests/unit/test_ike_certs.hpp"
#include "tests/unit/test_ike_fake.hpp"
#include "vpn/ike/file_signer.hpp"

using namespace ike_fake;
namespace certs = ike_certs;

namespace {

template <size_t N>
Buf bytes(u8 const (&a)[N]) {
    return Buf(a, a + N);
}

Buf idr_of(u8 type, char const* s) {
    Buf b{type, 0, 0, 0};
    b.insert(b.end(), s, s + strlen(s));
    return b;
}

u8 const* text(char const* s) {
    return reinterpret_cast<u8 const*>(s);
}

PeerVerifier& pinned() {
    static PeerVerifier v;
    if (!v.pinned()) {
        EXPECT_EQ(v.pin(certs::ca, sizeof certs::ca), Status::Ok);
    }
    return v;
}

CertCheck check(Buf const& cert, Buf const& idr, u8 type, char const* want) {
    u8 const* c = cert.data();
    size_t const l = cert.size();
    return pinned().check(&c, &l, 1, idr.data(), idr.size(), type, text(want), strlen(want));
}

crypto::Random test_rng() {
    static u32 seed = 7;
    return crypto::Random{&lcg, &seed};
}

template <size_t C, size_t K>
void load(FileSigner& s, u8 const (&cert)[C], u8 const (&key)[K]) {
    Buf k(key, key + K);
    ASSERT_EQ(s.load(cert, C, k.data(), k.size(), test_rng()), Status::Ok);
}

}  // namespace

TEST(IkeCert, PinnedCaGivesTheCertreqAuthorityAsSha1OfItsPublicKeyInfo) {
    // openssl x509 -pubkey | openssl pkey -pubin -outform der | sha1sum
    u8 const want[20] = {0x8e, 0xa2, 0xc4, 0xde, 0x08, 0xb7, 0x71, 0xa7, 0x50, 0x1c,
                         0x96, 0x63, 0xf0, 0x77, 0xd2, 0xb4, 0x06, 0x28, 0x3a, 0x46};
    PeerVerifier der, pem;
    ASSERT_EQ(der.pin(certs::ca, sizeof certs::ca), Status::Ok);
    ASSERT_EQ(pem.pin(text(certs::ca_pem), strlen(certs::ca_pem)), Status::Ok);
    EXPECT_EQ(memcmp(der.authority(), want, 20), 0);
    EXPECT_EQ(memcmp(pem.authority(), want, 20), 0);
}

TEST(IkeCert, PinningRefusesAnEndEntityCertificateAndGarbage) {
    PeerVerifier v;
    EXPECT_EQ(v.pin(certs::gw, sizeof certs::gw), Status::Invalid);
    u8 junk[64] = {0x30, 0x82};
    EXPECT_EQ(v.pin(junk, sizeof junk), Status::Invalid);
    EXPECT_FALSE(v.pinned());
}

TEST(IkeCert, GatewayCertificateFromThePinnedCaNamingItsIdentityIsAccepted) {
    EXPECT_EQ(check(bytes(certs::gw), idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::Ok);
    EXPECT_EQ(check(bytes(certs::gwrsa), idr_of(idtype::kFqdn, "GW.test"), idtype::kFqdn, "gw.test"),
              CertCheck::Ok);
}

TEST(IkeCert, CertificateFromAnotherCaIsRefusedAsWrongCa) {
    EXPECT_EQ(check(bytes(certs::gwca2), idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::WrongCa);
    // The other CA's own certificate, offered as the gateway's, is no better.
    EXPECT_EQ(check(bytes(certs::ca2), idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::WrongCa);
}

// Documented (docs/vpn.md): without a trusted calendar the monitor checks no validity dates.
TEST(IkeCert, ExpiredCertificateIsAcceptedBecauseDatesAreNotChecked) {
    EXPECT_EQ(check(bytes(certs::gwexp), idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::Ok);
}

TEST(IkeCert, CertificateForAnotherNameIsRefusedAsWrongIdentity) {
    EXPECT_EQ(check(bytes(certs::gwother), idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn,
                    "gw.test"),
              CertCheck::WrongIdentity);
    // Its IDr names what it is, which is not what we want either.
    EXPECT_EQ(check(bytes(certs::gwother), idr_of(idtype::kFqdn, "other.test"), idtype::kFqdn,
                    "gw.test"),
              CertCheck::WrongIdentity);
}

TEST(IkeCert, IdrNotTheExpectedIdentityIsRefusedEvenWithAGoodCertificate) {
    EXPECT_EQ(check(bytes(certs::gw), idr_of(idtype::kFqdn, "other.test"), idtype::kFqdn, "gw.test"),
              CertCheck::WrongIdentity);
    EXPECT_EQ(check(bytes(certs::gw), idr_of(idtype::kRfc822, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::WrongIdentity);
}

TEST(IkeCert, DnIdentityIsTheSubjectAndIdrMustBeItsDer) {
    mbedtls_x509_crt crt;
    mbedtls_x509_crt_init(&crt);
    ASSERT_EQ(mbedtls_x509_crt_parse_der(&crt, certs::gw, sizeof certs::gw), 0);
    Buf idr{idtype::kDerAsn1Dn, 0, 0, 0};
    idr.insert(idr.end(), crt.subject_raw.p, crt.subject_raw.p + crt.subject_raw.len);
    mbedtls_x509_crt_free(&crt);
    char const* dn = "C=CH, O=thinvisor test, CN=gw.test";
    EXPECT_EQ(check(bytes(certs::gw), idr, idtype::kDerAsn1Dn, dn), CertCheck::Ok);
    EXPECT_EQ(check(bytes(certs::gwother), idr, idtype::kDerAsn1Dn, dn), CertCheck::WrongIdentity);
    EXPECT_EQ(check(bytes(certs::gw), idr_of(idtype::kDerAsn1Dn, dn), idtype::kDerAsn1Dn, dn),
              CertCheck::WrongIdentity);  // the text is not the DER
}

TEST(IkeCert, TruncatedDerIsMalformedAtEveryLength) {
    Buf const whole = bytes(certs::gw);
    Buf const idr = idr_of(idtype::kFqdn, "gw.test");
    for (size_t n = 0; n < whole.size(); ++n) {
        Buf const cut(whole.begin(), whole.begin() + static_cast<long>(n));
        EXPECT_EQ(check(cut, idr, idtype::kFqdn, "gw.test"), CertCheck::Malformed) << n;
    }
}

TEST(IkeCert, BytesAfterTheCertificateAreMalformed) {
    Buf cert = bytes(certs::gw);
    cert.push_back(0);
    EXPECT_EQ(check(cert, idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::Malformed);
}

TEST(IkeCert, SignaturesRoundTripForEcdsaAndRsaAndAFlippedBitIsRefused) {
    struct Case {
        u8 const* cert;
        size_t cert_len;
        u8 const* key;
        size_t key_len;
        SigScheme scheme;
    } const cases[] = {
        {certs::gw, sizeof certs::gw, certs::gw_key, sizeof certs::gw_key,
         SigScheme::EcdsaP256Sha256},
        {certs::gwrsa, sizeof certs::gwrsa, certs::gwrsa_key, sizeof certs::gwrsa_key,
         SigScheme::RsaPkcs1Sha256},
    };
    for (Case const& c : cases) {
        FileSigner s;
        Buf key(c.key, c.key + c.key_len);
        ASSERT_EQ(s.load(c.cert, c.cert_len, key.data(), key.size(), test_rng()), Status::Ok);
        EXPECT_EQ(s.scheme(), c.scheme);
        u8 digest[kDigestBytes] = {1, 2, 3};
        u8 sig[kMaxSignature], auth[600];
        size_t const sl = s.sign(digest, sig, sizeof sig);
        ASSERT_NE(sl, 0u);
        size_t const al = encode_signature_auth(s.scheme(), sig, sl, auth, sizeof auth);
        ASSERT_NE(al, 0u);
        Buf const cert(c.cert, c.cert + c.cert_len);
        ASSERT_EQ(check(cert, idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
                  CertCheck::Ok);
        EXPECT_EQ(pinned().verify(auth, al, digest), CertCheck::Ok);
        digest[0] ^= 1;
        EXPECT_EQ(pinned().verify(auth, al, digest), CertCheck::BadSignature);
        digest[0] ^= 1;
        auth[al - 5] ^= 0x10;
        EXPECT_NE(pinned().verify(auth, al, digest), CertCheck::Ok);
    }
}

TEST(IkeCert, SignatureOfTheWrongKeyTypeOrAlgorithmIsRefused) {
    FileSigner rsa;
    load(rsa, certs::gwrsa, certs::gwrsa_key);
    u8 digest[kDigestBytes] = {};
    u8 sig[kMaxSignature], auth[600];
    size_t const sl = rsa.sign(digest, sig, sizeof sig);
    // An RSA signature labelled ECDSA, checked against the ECDSA certificate.
    size_t const al = encode_signature_auth(SigScheme::EcdsaP256Sha256, sig, sl, auth, sizeof auth);
    ASSERT_EQ(check(bytes(certs::gw), idr_of(idtype::kFqdn, "gw.test"), idtype::kFqdn, "gw.test"),
              CertCheck::Ok);
    EXPECT_NE(pinned().verify(auth, al, digest), CertCheck::Ok);
    size_t const rl = encode_signature_auth(SigScheme::RsaPkcs1Sha256, sig, sl, auth, sizeof auth);
    EXPECT_EQ(pinned().verify(auth, rl, digest), CertCheck::Unsupported);
    auth[5] ^= 1;  // inside the AlgorithmIdentifier's OID
    EXPECT_EQ(pinned().verify(auth, rl, digest), CertCheck::Unsupported);
    EXPECT_EQ(pinned().verify(auth, 1, digest), CertCheck::Malformed);
}

TEST(IkeCert, FileSignerWipesTheKeyAndRefusesAKeyThatIsNotTheCertificates) {
    FileSigner s;
    Buf key = bytes(certs::gwother_key);
    EXPECT_EQ(s.load(certs::gw, sizeof certs::gw, key.data(), key.size(), test_rng()),
              Status::Invalid);
    EXPECT_EQ(key, Buf(key.size(), 0));
    size_t n = 0;
    EXPECT_EQ(s.certificate(n), nullptr);
    key = bytes(certs::gw_key);
    EXPECT_EQ(s.load(certs::gw, sizeof certs::gw, key.data(), key.size(), test_rng()), Status::Ok);
    EXPECT_EQ(key, Buf(key.size(), 0));
    ASSERT_NE(s.certificate(n), nullptr);
    EXPECT_EQ(Buf(s.certificate(n), s.certificate(n) + n), bytes(certs::gw));
}

TEST(IkeCert, FileSignerTakesPemKeyAndCertificate) {
    FileSigner s;
    std::string key = certs::client_key_pem;
    EXPECT_EQ(s.load(certs::client, sizeof certs::client, reinterpret_cast<u8*>(key.data()),
                     key.size(), test_rng()),
              Status::Ok);
    EXPECT_EQ(key, std::string(key.size(), '\0'));
}

// ---- IKE_AUTH with certificates ------------------------------------------------------------

namespace {

struct CertRig {
    FakeNet net;
    FakeClock clock;
    FakeEvents ev;
    u32 seed = 1;
    Initiator ini{net, clock, ev, crypto::Random{&lcg, &seed}};
    FakeGateway gw;
    FileSigner mine, theirs;

    template <size_t C, size_t K>
    explicit CertRig(u8 const (&gw_cert)[C], u8 const (&gw_key)[K]) {
        load(mine, certs::client, certs::client_key);
        load(theirs, gw_cert, gw_key);
        gw.signer = &theirs;
        EXPECT_EQ(ini.configure_cert(test_config(), mine, certs::ca, sizeof certs::ca), Status::Ok);
    }
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

TEST(IkeCertInitiator, ComesUpAndSignsWithItsCertificateAndAsksForThePinnedCa) {
    CertRig r(certs::gw, certs::gw_key);
    r.to_auth();
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    Buf const req = r.last();
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(req, plain, first, h));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* cert = in.find(Payload::CERT);
    PayloadRef const* creq = in.find(Payload::CERTREQ);
    PayloadRef const* auth = in.find(Payload::AUTH);
    PayloadRef const* idi = in.find(Payload::IDi);
    ASSERT_TRUE(cert && creq && auth && idi);
    EXPECT_EQ(Buf(plain.data() + cert->off + 1, plain.data() + cert->off + cert->len),
              bytes(certs::client));
    ASSERT_EQ(creq->len, 21u);
    EXPECT_EQ(plain[creq->off], kCertX509Signature);
    EXPECT_EQ(memcmp(plain.data() + creq->off + 1, pinned().authority(), 20), 0);
    // Our AUTH verifies with our certificate over RealMessage1 | Nr | prf(SK_pi, IDi).
    EXPECT_EQ(plain[auth->off], kAuthDigitalSignature);
    u8 digest[kDigestBytes];
    Buf const msg1 = r.net.sent[0].bytes;
    ASSERT_TRUE(signed_digest(msg1.data(), msg1.size(), r.gw.nr, sizeof r.gw.nr, r.gw.keys.sk_pi,
                              plain.data() + idi->off, idi->len, digest));
    PeerVerifier client_ca;
    ASSERT_EQ(client_ca.pin(certs::ca, sizeof certs::ca), Status::Ok);
    u8 const* c = certs::client;
    size_t const cl = sizeof certs::client;
    Buf const id = idr_of(idtype::kFqdn, "client.test");
    ASSERT_EQ(client_ca.check(&c, &cl, 1, id.data(), id.size(), idtype::kFqdn, text("client.test"),
                              11),
              CertCheck::Ok);
    EXPECT_EQ(client_ca.verify(plain.data() + auth->off + 4, auth->len - 4u, digest),
              CertCheck::Ok);
    r.deliver(r.gw.auth_response(req));
    EXPECT_EQ(r.ini.state(), State::Established);
    EXPECT_EQ(r.ev.ups, 1);
    EXPECT_TRUE(r.ev.said("chains to the pinned CA"));
}

TEST(IkeCertInitiator, RsaGatewayIsAccepted) {
    CertRig r(certs::gwrsa, certs::gwrsa_key);
    r.to_auth();
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkeCertInitiator, GatewayFromAnotherCaIsRefusedWithItsOwnError) {
    CertRig r(certs::gwca2, certs::gwca2_key);
    r.to_auth();
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.last_error(), Error::PeerWrongCa);
    EXPECT_TRUE(r.ev.said("not issued by the pinned CA"));
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeCertInitiator, GatewayCertificateForAnotherNameIsRefusedWithItsOwnError) {
    CertRig r(certs::gwother, certs::gwother_key);
    r.to_auth();
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.last_error(), Error::PeerWrongIdentity);
    EXPECT_TRUE(r.ev.said("does not name gw.test"));
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeCertInitiator, GatewaySignatureThatDoesNotVerifyIsRefused) {
    CertRig r(certs::gw, certs::gw_key);
    r.to_auth();
    FakeGateway::AuthOpts o;
    o.bad_auth = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_EQ(r.ini.last_error(), Error::PeerAuthBad);
    EXPECT_TRUE(r.ev.said("AUTH signature does not verify"));
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeCertInitiator, AuthenticationFailedSaysTheGatewayDoesNotTrustOurCertificate) {
    CertRig r(certs::gw, certs::gw_key);
    r.to_auth();
    FakeGateway::AuthOpts o;
    o.auth_failed = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_EQ(r.ini.last_error(), Error::AuthenticationFailed);
    EXPECT_TRUE(r.ev.said("does not trust our certificate"));
}

// ---- the classic AUTH methods 1 and 9, for gateways without RFC 7427 -----------------------

namespace {

// Our AUTH in the IKE_AUTH request: its method and data.
struct OurAuth {
    u8 method = 0;
    Buf data, idi;
};

OurAuth our_auth(CertRig& r) {
    OurAuth a;
    Buf plain;
    u8 first = 0;
    Header h{};
    EXPECT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    PayloadList in{};
    EXPECT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* auth = in.find(Payload::AUTH);
    PayloadRef const* idi = in.find(Payload::IDi);
    if (auth == nullptr || idi == nullptr)
        return a;
    a.method = plain[auth->off];
    a.data.assign(plain.data() + auth->off + 4, plain.data() + auth->off + auth->len);
    a.idi.assign(plain.data() + idi->off, plain.data() + idi->off + idi->len);
    return a;
}

// A verifier of our own certificate, as the gateway has it.
struct ClientCheck {
    PeerVerifier v;
    ClientCheck() {
        EXPECT_EQ(v.pin(certs::ca, sizeof certs::ca), Status::Ok);
        u8 const* c = certs::client;
        size_t const cl = sizeof certs::client;
        Buf const id = idr_of(idtype::kFqdn, "client.test");
        EXPECT_EQ(v.check(&c, &cl, 1, id.data(), id.size(), idtype::kFqdn, text("client.test"), 11),
                  CertCheck::Ok);
    }
};

}  // namespace

TEST(IkeCertClassic, GatewayWithoutRfc7427GetsOurEcdsaSignatureAsMethod9AndItsMethod9Verifies) {
    CertRig r(certs::gw, certs::gw_key);
    r.gw.announce_sha256 = false;
    r.gw.classic = true;
    r.to_auth();
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    OurAuth const a = our_auth(r);
    EXPECT_EQ(a.method, kAuthEcdsaP256);
    ASSERT_EQ(a.data.size(), kEcdsaP256Raw);  // r | s, not DER (RFC 4754 §7)
    u8 digest[kDigestBytes];
    Buf const msg1 = r.net.sent[0].bytes;
    ASSERT_TRUE(signed_digest(msg1.data(), msg1.size(), r.gw.nr, sizeof r.gw.nr, r.gw.keys.sk_pi,
                              a.idi.data(), a.idi.size(), digest));
    ClientCheck cc;
    EXPECT_EQ(cc.v.verify_classic(kAuthEcdsaP256, a.data.data(), a.data.size(), digest, sizeof digest),
              CertCheck::Ok);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
    EXPECT_TRUE(r.ev.said("signs with AUTH method 9"));
}

TEST(IkeCertClassic, RsaGatewaySigningWithMethod1IsAcceptedAndABadOneRefused) {
    {
        CertRig r(certs::gwrsa, certs::gwrsa_key);
        r.gw.classic = true;
        r.to_auth();
        r.deliver(r.gw.auth_response(r.last()));
        EXPECT_EQ(r.ini.state(), State::Established);
        EXPECT_TRUE(r.ev.said("signs with AUTH method 1"));
    }
    CertRig r(certs::gwrsa, certs::gwrsa_key);
    r.gw.classic = true;
    r.to_auth();
    FakeGateway::AuthOpts o;
    o.bad_auth = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_EQ(r.ini.last_error(), Error::PeerAuthBad);
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeCertClassic, EcdsaGatewayWithABadMethod9SignatureIsRefused) {
    CertRig r(certs::gw, certs::gw_key);
    r.gw.classic = true;
    r.to_auth();
    FakeGateway::AuthOpts o;
    o.bad_auth = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_EQ(r.ini.last_error(), Error::PeerAuthBad);
    EXPECT_TRUE(r.ev.said("AUTH signature does not verify"));
}

TEST(IkeCertClassic, ConfiguredClassicSignsWithMethod1ForRsaOverSha1AndDoesNotAnnounceRfc7427) {
    CertRig r(certs::gw, certs::gw_key);
    FileSigner rsa;
    load(rsa, certs::gwrsa, certs::gwrsa_key);  // an RSA certificate of ours (any name will do here)
    Config c = test_config();
    c.classic_sig = true;
    ASSERT_EQ(r.ini.configure_cert(c, rsa, certs::ca, sizeof certs::ca), Status::Ok);
    r.ini.start();
    Parsed const init = parse(r.last());
    bool announced = false;
    for (u8 i = 0; i < init.pl.count; ++i) {
        Notify n{};
        if (init.pl.item[i].type == static_cast<u8>(Payload::Notify) &&
            decode_notify(init.msg.data() + init.pl.item[i].off, init.pl.item[i].len, n) == ParseError::Ok)
            announced = announced || n.type == notify::kSignatureHashAlgorithms;
    }
    EXPECT_FALSE(announced);
    r.deliver(r.gw.init_response(r.last()), kIkePort);  // the gateway announces SHA2-256 all the same
    OurAuth const a = our_auth(r);
    EXPECT_EQ(a.method, kAuthRsaSignature);
    u8 d1[kSha1Bytes];
    Buf const msg1 = r.net.sent[0].bytes;
    ASSERT_TRUE(signed_digest_sha1(msg1.data(), msg1.size(), r.gw.nr, sizeof r.gw.nr, r.gw.keys.sk_pi,
                                   a.idi.data(), a.idi.size(), d1));
    PeerVerifier v;
    ASSERT_EQ(v.pin(certs::ca, sizeof certs::ca), Status::Ok);
    u8 const* cp = certs::gwrsa;
    size_t const cl = sizeof certs::gwrsa;
    Buf const id = idr_of(idtype::kFqdn, "gw.test");
    ASSERT_EQ(v.check(&cp, &cl, 1, id.data(), id.size(), idtype::kFqdn, text("gw.test"), 7), CertCheck::Ok);
    EXPECT_EQ(v.verify_classic(kAuthRsaSignature, a.data.data(), a.data.size(), d1, sizeof d1), CertCheck::Ok);
    d1[0] ^= 1;
    EXPECT_EQ(v.verify_classic(kAuthRsaSignature, a.data.data(), a.data.size(), d1, sizeof d1),
              CertCheck::BadSignature);
}

// The monitor's RSA client key against a gateway with RFC 7427 (strongSwan's default): AUTH
// method 14 with sha256WithRSAEncryption (the AlgorithmIdentifier with NULL parameters, RFC 7427
// Appendix A.1.2), an RSASSA-PKCS1-v1_5 block over SHA-256 of the signed octets, which the
// certificate's key verifies, and not over SHA-1 (method 1's hash).
TEST(IkeCertInitiator, RsaClientKeySignsMethod14WithSha256WithRsaEncryption) {
    CertRig r(certs::gw, certs::gw_key);
    FileSigner rsa;
    load(rsa, certs::gwrsa, certs::gwrsa_key);  // an RSA certificate of ours (any name will do here)
    ASSERT_EQ(rsa.scheme(), SigScheme::RsaPkcs1Sha256);
    ASSERT_EQ(r.ini.configure_cert(test_config(), rsa, certs::ca, sizeof certs::ca), Status::Ok);
    r.to_auth();
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    OurAuth const a = our_auth(r);
    EXPECT_EQ(a.method, kAuthDigitalSignature);
    u8 const alg[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00};
    ASSERT_GT(a.data.size(), 1 + sizeof alg);
    EXPECT_EQ(a.data[0], sizeof alg);
    EXPECT_EQ(Buf(a.data.begin() + 1, a.data.begin() + 1 + sizeof alg), Buf(alg, alg + sizeof alg));
    EXPECT_EQ(a.data.size(), 1 + sizeof alg + 256);  // the 2048-bit key's signature
    PeerVerifier v;
    ASSERT_EQ(v.pin(certs::ca, sizeof certs::ca), Status::Ok);
    u8 const* cp = certs::gwrsa;
    size_t const cl = sizeof certs::gwrsa;
    Buf const id = idr_of(idtype::kFqdn, "gw.test");
    ASSERT_EQ(v.check(&cp, &cl, 1, id.data(), id.size(), idtype::kFqdn, text("gw.test"), 7), CertCheck::Ok);
    u8 digest[kDigestBytes];
    Buf const msg1 = r.net.sent[0].bytes;
    ASSERT_TRUE(signed_digest(msg1.data(), msg1.size(), r.gw.nr, sizeof r.gw.nr, r.gw.keys.sk_pi,
                              a.idi.data(), a.idi.size(), digest));
    EXPECT_EQ(v.verify(a.data.data(), a.data.size(), digest), CertCheck::Ok);
    u8 d1[kSha1Bytes];
    ASSERT_TRUE(signed_digest_sha1(msg1.data(), msg1.size(), r.gw.nr, sizeof r.gw.nr, r.gw.keys.sk_pi,
                                   a.idi.data(), a.idi.size(), d1));
    Buf const sig(a.data.begin() + 1 + sizeof alg, a.data.end());
    EXPECT_NE(v.verify_classic(kAuthRsaSignature, sig.data(), sig.size(), d1, sizeof d1), CertCheck::Ok);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkeCertClassic, EcdsaRawAndDerConvertBothWaysAndRefuseMalformedInput) {
    u8 raw[kEcdsaP256Raw];
    for (size_t i = 0; i < sizeof raw; ++i)
        raw[i] = static_cast<u8>(i == 0 || i == 32 ? 0x80 : i);  // high bits: DER pads with 0x00
    u8 der[80];
    size_t const n = ecdsa_raw_to_der(raw, der, sizeof der);
    ASSERT_EQ(n, 2u + 2 * (2 + 33));
    EXPECT_EQ(der[0], 0x30);
    EXPECT_EQ(der[2], 0x02);
    EXPECT_EQ(der[3], 33);
    EXPECT_EQ(der[4], 0);
    u8 back[kEcdsaP256Raw];
    ASSERT_TRUE(ecdsa_der_to_raw(der, n, back));
    EXPECT_EQ(memcmp(back, raw, sizeof raw), 0);
    u8 small[kEcdsaP256Raw] = {};
    small[31] = 5;  // r = 5: one byte of INTEGER; s = 0
    size_t const m = ecdsa_raw_to_der(small, der, sizeof der);
    EXPECT_EQ(m, 2u + 3 + 3);
    ASSERT_TRUE(ecdsa_der_to_raw(der, m, back));
    EXPECT_EQ(memcmp(back, small, sizeof small), 0);
    EXPECT_FALSE(ecdsa_der_to_raw(der, m - 1, back));  // truncated
    u8 trailing[80];
    memcpy(trailing, der, m);
    trailing[m] = 0;
    EXPECT_FALSE(ecdsa_der_to_raw(trailing, m + 1, back));
    EXPECT_EQ(ecdsa_raw_to_der(raw, der, 10), 0u);
}

TEST(IkeCertInitiator, ConfigurationNeedsARemoteIdentityAndACaCertificate) {
    FakeNet net;
    FakeClock clock;
    FakeEvents ev;
    u32 seed = 1;
    Initiator ini{net, clock, ev, crypto::Random{&lcg, &seed}};
    FileSigner mine;
    load(mine, certs::client, certs::client_key);
    Config cfg = test_config();
    EXPECT_EQ(ini.configure_cert(cfg, mine, certs::gw, sizeof certs::gw), Status::Invalid);
    cfg.remote_id.len = 0;
    EXPECT_EQ(ini.configure_cert(cfg, mine, certs::ca, sizeof certs::ca), Status::Invalid);
    ini.start();
    EXPECT_TRUE(net.sent.empty());
}

// ---- IKE fragments sent (RFC 7383) ---------------------------------------------------------

namespace {

std::vector<Buf> sent_since(FakeNet const& net, size_t from) {
    std::vector<Buf> out;
    for (size_t i = from; i < net.sent.size(); ++i)
        out.push_back(net.sent[i].bytes);
    return out;
}

Config small_path() {
    Config c = test_config();
    c.fragment_mtu = 576;
    return c;
}

}  // namespace

TEST(IkeFragmenter, LargeIkeAuthGoesOutAsFragmentsThatFitThePathAndReassemble) {
    CertRig r(certs::gw, certs::gw_key);
    r.gw.announce_fragmentation = true;
    EXPECT_EQ(r.ini.configure_cert(small_path(), r.mine, certs::ca, sizeof certs::ca), Status::Ok);
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    std::vector<Buf> const frags = sent_since(r.net, 1);
    ASSERT_GE(frags.size(), 2u);
    EXPECT_EQ(r.ini.counters().fragments_sent, frags.size());
    for (Buf const& f : frags) {
        EXPECT_LE(f.size() + 4 + 8 + 20, 576u);  // marker, UDP, IPv4
        Parsed const p = parse(f);
        EXPECT_EQ(p.pl.item[p.pl.count - 1].type, static_cast<u8>(Payload::SKF));
        EXPECT_EQ(p.h.msg_id, 1u);
    }
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_fragments(frags, plain, first, h));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    EXPECT_NE(in.find(Payload::CERT), nullptr);
    EXPECT_NE(in.find(Payload::AUTH), nullptr);
    EXPECT_NE(in.find(Payload::TSr), nullptr);
    r.deliver(r.gw.auth_reply(h.msg_id, FakeGateway::AuthOpts{}));
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkeFragmenter, RetransmissionResendsEveryFragmentUnchanged) {
    CertRig r(certs::gw, certs::gw_key);
    r.gw.announce_fragmentation = true;
    EXPECT_EQ(r.ini.configure_cert(small_path(), r.mine, certs::ca, sizeof certs::ca), Status::Ok);
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    std::vector<Buf> const first = sent_since(r.net, 1);
    size_t const n = r.net.sent.size();
    r.clock.t += 500;
    r.ini.poll();
    EXPECT_EQ(sent_since(r.net, n), first);
    EXPECT_EQ(r.ini.counters().fragments_sent, 2 * first.size());
}

TEST(IkeFragmenter, WithoutTheGatewaysSupportOrWhenItFitsTheMessageIsWhole) {
    CertRig r(certs::gw, certs::gw_key);  // the gateway does not announce fragmentation
    EXPECT_EQ(r.ini.configure_cert(small_path(), r.mine, certs::ca, sizeof certs::ca), Status::Ok);
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    ASSERT_EQ(r.net.sent.size(), 2u);
    EXPECT_GT(r.last().size(), 576u);
    EXPECT_EQ(r.ini.counters().fragments_sent, 0u);
    CertRig big(certs::gw, certs::gw_key);  // announced, but 1280 bytes hold it
    big.gw.announce_fragmentation = true;
    big.to_auth();
    EXPECT_EQ(big.net.sent.size(), 2u);
    EXPECT_EQ(big.ini.counters().fragments_sent, 0u);
    big.deliver(big.gw.auth_response(big.last()));
    EXPECT_EQ(big.ini.state(), State::Established);
}

