// Certificate authentication in IKE_AUTH (RFC 7296 §2.15, RFC 7427): our AUTH is a signature
// by the Signer over SHA-256 of our signed octets, sent with our certificate and a CERTREQ
// naming the pinned CA; the gateway's certificate is checked (vpn/ike/cert.hpp) before its
// AUTH signature, and each refusal has its own log line and error.
#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"

namespace tv::vpn::ike {

Status Initiator::configure_cert(Config const& cfg, Signer& signer, u8 const* ca, size_t ca_len) {
    size_t cert_len = 0;
    bool const good = config_ok(cfg) && cfg.remote_id.len != 0 &&
                      signer.certificate(cert_len) != nullptr && cert_len != 0 &&
                      cert_len <= kMaxCertBytes && ok(peer_.pin(ca, ca_len));
    crypto::secure_zero(pad_key_, sizeof pad_key_);
    if (!good) {
        log("ike: configuration refused (CA certificate, our certificate, remote identity, DH "
            "groups or key sizes)");
        configured_ = false;
        return Status::Invalid;
    }
    cfg_ = cfg;
    signer_ = &signer;
    configured_ = true;
    return Status::Ok;
}

// Our certificate, a CERTREQ for the pinned CA and the signature AUTH, for IKE_AUTH.
bool Initiator::add_cert_auth(ChainBuilder& in, u8 const* idb, size_t idl) {
    if (!sig_sha256_) {
        log("ike: IKE_AUTH: the gateway did not announce SHA2-256 signatures "
            "(SIGNATURE_HASH_ALGORITHMS, RFC 7427), which certificate authentication needs");
        return false;
    }
    u8 digest[kDigestBytes];
    u8 sig[kMaxSignature];
    u8 auth[1 + 16 + kMaxSignature];
    size_t auth_len = 0;
    if (signed_digest(msg1_, msg1_len_, nr_, nr_len_, keys_.sk_pi, idb, idl, digest)) {
        size_t const sig_len = signer_->sign(digest, sig, sizeof sig);
        auth_len = encode_signature_auth(signer_->scheme(), sig, sig_len, auth, sizeof auth);
    }
    crypto::secure_zero(digest, sizeof digest);
    if (auth_len == 0) {
        log("ike: IKE_AUTH: our signer could not sign the AUTH");
        return false;
    }
    add_auth(in, kAuthDigitalSignature, auth, auth_len);
    return true;
}

// The gateway's CERT payloads, IDr and AUTH (its signature over RealMessage2 | Ni |
// prf(SK_pr, IDr)). False: the SA is failed, with the reason logged.
bool Initiator::check_peer_cert(PayloadList const& inner, u8 const* base) {
    PayloadRef const* idr = inner.find(Payload::IDr);
    PayloadRef const* au = inner.find(Payload::AUTH);
    u8 const* certs[kMaxPeerCerts] = {};
    size_t lens[kMaxPeerCerts] = {};
    size_t n = 0, x509 = 0;
    for (unsigned i = 0; PayloadRef const* c = inner.find(Payload::CERT, i); ++i) {
        u8 enc = 0;
        u8 const* d = nullptr;
        size_t dl = 0;
        if (decode_cert(base + c->off, c->len, enc, d, dl) != ParseError::Ok ||
            enc != kCertX509Signature)
            continue;  // other encodings (hash and URL, say) are not for us
        if (n < kMaxPeerCerts) {
            certs[n] = d;
            lens[n] = dl;
            ++n;
        }
        ++x509;
    }
    u8 method = 0;
    u8 const* ad = nullptr;
    size_t al = 0;
    char const* why = nullptr;
    if (idr == nullptr || au == nullptr || idr->len < 4 ||
        decode_auth(base + au->off, au->len, method, ad, al) != ParseError::Ok)
        why = "IDr or AUTH missing or malformed";
    else if (n == 0)
        why = "no X.509 certificate from the gateway";
    else if (x509 > kMaxPeerCerts)
        why = "more than one intermediate certificate";
    else if (method != kAuthDigitalSignature)
        why = "its AUTH is not a digital signature (RFC 7427)";
    if (why != nullptr) {
        log("ike: IKE_AUTH response refused: %s", why);
        fail(Error::Protocol);
        return false;
    }
    Identity const& r = cfg_.remote_id;
    CertCheck c = peer_.check(certs, lens, n, base + idr->off, idr->len, r.type, r.data, r.len);
    u8 digest[kDigestBytes];
    if (c == CertCheck::Ok)
        c = signed_digest(msg2_, msg2_len_, ni_, sizeof ni_, keys_.sk_pr, base + idr->off,
                          idr->len, digest)
                ? peer_.verify(ad, al, digest)
                : CertCheck::Malformed;
    return cert_verdict(c);
}

// The outcome of the gateway's certificate and signature checks: each refusal its own line and
// error. False: the SA is failed.
bool Initiator::cert_verdict(CertCheck c) {
    Identity const& r = cfg_.remote_id;
    switch (c) {
        case CertCheck::Ok:
            log("ike: IKE_AUTH: the gateway's certificate for %.*s chains to the pinned CA and "
                "its signature verifies",
                r.len, reinterpret_cast<char const*>(r.data));
            return true;
        case CertCheck::WrongCa:
            log("ike: IKE_AUTH: the gateway's certificate is not issued by the pinned CA");
            fail(Error::PeerWrongCa);
            return false;
        case CertCheck::WrongIdentity:
            log("ike: IKE_AUTH: the gateway's certificate or IDr does not name %.*s", r.len,
                reinterpret_cast<char const*>(r.data));
            fail(Error::PeerWrongIdentity);
            return false;
        case CertCheck::BadSignature:
            log("ike: IKE_AUTH: the gateway's AUTH signature does not verify with its "
                "certificate");
            fail(Error::PeerAuthBad);
            return false;
        case CertCheck::Unsupported:
            log("ike: IKE_AUTH: the gateway signs with a scheme or key we do not take "
                "(sha256WithRSAEncryption or ecdsa-with-SHA256 on P-256)");
            fail(Error::PeerAuthBad);
            return false;
        case CertCheck::Malformed:
            break;
    }
    log("ike: IKE_AUTH: the gateway's certificate or AUTH data is malformed");
    fail(Error::PeerWrongCa);
    return false;
}

}  // namespace tv::vpn::ike
