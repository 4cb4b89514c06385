// Certificate authentication in IKE_AUTH (RFC 7296 §2.15, RFC 7427): our AUTH is a signature
// by the Signer over SHA-256 of our signed octets, sent with our certificate and a CERTREQ
// naming the pinned CA; the gateway's certificate is checked (vpn/ike/cert.hpp) before its
// AUTH signature, and each refusal has its own log line and error.
#include "crypto/secure_zero.hpp"
#include "vpn/ike/initiator.hpp"
#include "vpn/ike/pss.hpp"

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

// Our certificate, a CERTREQ for the pinned CA and the signature AUTH, for IKE_AUTH: RFC 7427
// (method 14) when the gateway announced SHA2-256 signatures, else (or with classic_sig) the
// classic method of our key, 1 for RSA or 9 for ECDSA P-256.
bool Initiator::add_cert_auth(ChainBuilder& in, u8 const* idb, size_t idl) {
    u8 sig[kMaxSignature];
    u8 auth[1 + 16 + kMaxSignature];
    size_t auth_len = 0;
    u8 method = kAuthDigitalSignature;
    if (cfg_.classic_sig || !sig_sha256_) {
        auth_len = classic_auth(idb, idl, method, auth, sizeof auth);
    } else {
        u8 digest[kDigestBytes];
        if (signed_digest(msg1_, msg1_len_, nr_, nr_len_, keys_.sk_pi, idb, idl, digest)) {
            SigScheme s = signer_->scheme();
            size_t sig_len = 0;
            if (s == SigScheme::RsaPkcs1Sha256 && cfg_.rsa_pss) {
                s = SigScheme::RsaPssSha256;
                sig_len = sign_rsa_pss(*signer_, digest, rng_, sig, sizeof sig);
            } else {
                sig_len = signer_->sign(digest, sig, sizeof sig);
            }
            auth_len = encode_signature_auth(s, sig, sig_len, auth, sizeof auth);
        }
        crypto::secure_zero(digest, sizeof digest);
    }
    if (auth_len == 0) {
        log("ike: IKE_AUTH: our signer could not sign the AUTH");
        return false;
    }
    add_auth(in, method, auth, auth_len);
    return true;
}

// Our AUTH data in the classic method of our key (RFC 7296 §3.8): RSA over SHA-1 (method 1),
// or ECDSA P-256 over SHA-256 as r | s (method 9, RFC 4754). Returns its length, 0 on failure.
size_t Initiator::classic_auth(u8 const* idb, size_t idl, u8& method, u8* out, size_t cap) {
    bool const rsa = signer_->scheme() == SigScheme::RsaPkcs1Sha256;
    method = rsa ? kAuthRsaSignature : kAuthEcdsaP256;
    log("ike: IKE_AUTH: signing with AUTH method %u (%s)", method,
        cfg_.classic_sig ? "configured" : "the gateway did not announce RFC 7427 SHA2-256 signatures");
    size_t len = 0;
    if (rsa) {
        u8 digest[kSha1Bytes];
        if (signed_digest_sha1(msg1_, msg1_len_, nr_, nr_len_, keys_.sk_pi, idb, idl, digest))
            len = signer_->sign_sha1(digest, out, cap);
        crypto::secure_zero(digest, sizeof digest);
        return len;
    }
    u8 digest[kDigestBytes];
    u8 der[kMaxSignature];
    u8 raw[kEcdsaP256Raw];
    if (cap >= kEcdsaP256Raw &&
        signed_digest(msg1_, msg1_len_, nr_, nr_len_, keys_.sk_pi, idb, idl, digest)) {
        size_t const der_len = signer_->sign(digest, der, sizeof der);
        if (der_len != 0 && ecdsa_der_to_raw(der, der_len, raw)) {
            for (size_t i = 0; i < kEcdsaP256Raw; ++i)
                out[i] = raw[i];
            len = kEcdsaP256Raw;
        }
    }
    crypto::secure_zero(digest, sizeof digest);
    return len;
}

// The gateway's AUTH signature over RealMessage2 | Ni | prf(SK_pr, IDr), in whichever of the
// three methods it chose, with the key of the certificate check() accepted.
CertCheck Initiator::verify_peer_sig(u8 method, u8 const* ad, size_t al, u8 const* idr,
                                     size_t idr_len) {
    if (method != kAuthDigitalSignature)
        log("ike: IKE_AUTH: the gateway signs with AUTH method %u (%s)", method,
            method == kAuthRsaSignature ? "RSA over SHA-1" : "ECDSA P-256 over SHA-256");
    if (method == kAuthRsaSignature) {
        u8 digest[kSha1Bytes];
        if (!signed_digest_sha1(msg2_, msg2_len_, ni_, sizeof ni_, keys_.sk_pr, idr, idr_len, digest))
            return CertCheck::Malformed;
        return peer_.verify_classic(method, ad, al, digest, sizeof digest);
    }
    u8 digest[kDigestBytes];
    if (!signed_digest(msg2_, msg2_len_, ni_, sizeof ni_, keys_.sk_pr, idr, idr_len, digest))
        return CertCheck::Malformed;
    if (method == kAuthEcdsaP256)
        return peer_.verify_classic(method, ad, al, digest, sizeof digest);
    SigScheme s{};
    u8 const* sig = nullptr;
    size_t sig_len = 0;
    if (decode_signature_auth(ad, al, s, sig, sig_len) == CertCheck::Ok)
        log("ike: IKE_AUTH: the gateway signs with AUTH method 14, %s", to_string(s));
    return peer_.verify(ad, al, digest);
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
    else if (method != kAuthDigitalSignature && method != kAuthRsaSignature &&
             method != kAuthEcdsaP256)
        why = "its AUTH method is none of 1 (RSA), 9 (ECDSA P-256) and 14 (RFC 7427)";
    if (why != nullptr) {
        log("ike: IKE_AUTH response refused: %s", why);
        fail(Error::Protocol);
        return false;
    }
    Identity const& r = cfg_.remote_id;
    CertCheck c = peer_.check(certs, lens, n, base + idr->off, idr->len, r.type, r.data, r.len);
    if (c == CertCheck::Ok)
        c = verify_peer_sig(method, ad, al, base + idr->off, idr->len);
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
                "(RSA, ECDSA P-256; RFC 7427 with SHA-256, or methods 1 and 9)");
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
