// Fakes for the IKE initiator's tests: a recording transport, a hand-set clock, recorded
// events, and a scripted gateway that plays the responder's side of IKE_SA_INIT and IKE_AUTH
// with the same vpn/ike building blocks (its keys derived independently from the same inputs).
#pragma once

#include <string.h>

#include <string>
#include <vector>

#include "vpn/ike/constants.hpp"
#include "vpn/ike/initiator.hpp"
#include "vpn/ike/pss.hpp"

namespace ike_fake {

using namespace tv;
using namespace tv::vpn::ike;
using Buf = std::vector<u8>;

struct Sent {
    u16 port;
    Buf bytes;  // the IKE message, without the non-ESP marker
};

struct FakeNet final : Transport {
    std::vector<Sent> sent;
    int keepalives = 0;
    Status send(u16 port, u8 const* data, size_t len) override {
        if (port == kNattPort && len == 1 && data[0] == 0xff) {  // a NAT-T keepalive
            ++keepalives;
            return Status::Ok;
        }
        if (port == kNattPort) {
            EXPECT_GE(len, 4u);
            EXPECT_EQ(data[0] | data[1] | data[2] | data[3], 0);  // the non-ESP marker
            data += 4;
            len -= 4;
        }
        sent.push_back({port, Buf(data, data + len)});
        return Status::Ok;
    }
};

struct FakeClock final : Clock {
    u64 t = 1000;
    u64 now_ms() override { return t; }
};

struct FakeEvents final : Events {
    std::vector<std::string> lines;
    int ups = 0, downs = 0;
    ChildSa last{};
    u32 down_in = 0, down_out = 0;
    void line(char const* text) override { lines.emplace_back(text); }
    void child_up(ChildSa const& sa) override {
        ++ups;
        last = sa;
    }
    void child_down(u32 in, u32 out) override {
        ++downs;
        down_in = in;
        down_out = out;
    }
    bool said(char const* what) const {
        for (auto const& l : lines)
            if (l.find(what) != std::string::npos)
                return true;
        return false;
    }
};

inline bool lcg(void* ctx, u8* out, u64 n) {
    auto* s = static_cast<u32*>(ctx);
    for (u64 i = 0; i < n; ++i) {
        *s = *s * 1103515245u + 12345u;
        out[i] = static_cast<u8>(*s >> 16);
    }
    return true;
}

inline Identity id_of(char const* s) {
    Identity id{};
    id.type = idtype::kFqdn;
    id.len = static_cast<u8>(strlen(s));
    memcpy(id.data, s, id.len);
    return id;
}

inline Config test_config() {
    Config c{};
    u8 const local[4] = {10, 9, 0, 2}, gw[4] = {10, 9, 0, 1};
    memcpy(c.local_ip, local, 4);
    memcpy(c.gateway_ip, gw, 4);
    c.local_id = id_of("client.test");
    c.remote_id = id_of("gw.test");
    c.groups[0] = group::kCurve25519;
    c.groups[1] = group::kEcp256;
    c.groups[2] = group::kModp2048;
    c.key_bits[0] = 256;
    c.key_bits[1] = 128;
    c.retransmit_ms = 500;
    c.retransmit_max_ms = 4000;
    c.retransmit_tries = 4;
    c.dpd_ms = 10000;
    c.restart_ms = 5000;
    c.force_encap = true;
    return c;
}

struct Parsed {
    Header h{};
    PayloadList pl{};
    Buf msg;
};

inline Parsed parse(Buf const& m) {
    Parsed p;
    p.msg = m;
    EXPECT_EQ(parse_message(p.msg.data(), p.msg.size(), p.h, p.pl), ParseError::Ok);
    return p;
}

class FakeGateway {
  public:
    std::string psk = "fake-psk";
    Identity id = id_of("gw.test");
    u64 spi_i = 0, spi_r = 0x5555666677778888ull;
    u32 esp_spi = 0xabcdef01;
    IkeKeys keys{};
    Buf ni, msg2;
    u8 nr[32];
    u16 group = 0;
    u32 rng_state = 99;
    u64 iv = 1000;
    bool announce_fragmentation = false;
    Signer* signer = nullptr;  // certificate authentication: signs the gateway's AUTH
    bool announce_sha256 = true;  // SIGNATURE_HASH_ALGORITHMS with SHA2-256, when signer is set
    bool classic = false;  // signs its AUTH with method 1 (RSA, SHA-1) or 9 (ECDSA P-256, r | s)
    bool pss = false;      // an RSA signer signs RFC 7427's AUTH with RSASSA-PSS (vpn/ike/pss.hpp)

    crypto::Random rng() { return crypto::Random{&lcg, &rng_state}; }

    // An unencrypted IKE_SA_INIT response carrying one notify.
    Buf notify_response(Buf const& req, u16 type, u8 const* data, size_t len) {
        Parsed p = parse(req);
        u8 buf[512];
        ChainBuilder cb{buf, sizeof buf};
        cb.header(Header{p.h.spi_i, 0, 0, kVersion, p.h.exchange, flag::kResponse, p.h.msg_id, 0});
        add_notify(cb, Protocol::None, type, data, len);
        return Buf(buf, buf + cb.finish());
    }

    Buf init_response(Buf const& req, u16 key_bits = 256) {
        Parsed p = parse(req);
        spi_i = p.h.spi_i;
        PayloadRef const* ke = p.pl.find(Payload::KE);
        PayloadRef const* n = p.pl.find(Payload::Nonce);
        u16 g = 0;
        u8 const* kd = nullptr;
        size_t kl = 0;
        EXPECT_EQ(decode_ke(p.msg.data() + ke->off, ke->len, g, kd, kl), ParseError::Ok);
        group = g;
        ni.assign(p.msg.data() + n->off, p.msg.data() + n->off + n->len);
        Dh dh;
        u8 pub[256], gir[256];
        EXPECT_TRUE(dh.start(g, rng(), pub, sizeof pub));
        EXPECT_TRUE(dh.finish(kd, kl, gir, sizeof gir));
        EXPECT_TRUE(rng()(nr, sizeof nr));
        u8 buf[1024];
        ChainBuilder cb{buf, sizeof buf};
        cb.header(Header{spi_i, spi_r, 0, kVersion, static_cast<u8>(Exchange::IkeSaInit),
                         flag::kResponse, 0, 0});
        add_sa(cb, Offer{Protocol::Ike, 0, {key_bits, 0}, {g, 0, 0}});
        add_ke(cb, g, pub, dh_public_len(g));
        add_nonce(cb, nr, sizeof nr);
        if (announce_fragmentation)
            add_notify(cb, Protocol::None, notify::kFragmentationSupported, nullptr, 0);
        if (signer != nullptr && announce_sha256) {
            u8 const hashes[] = {0, 2, 0, 3};  // SHA2-256, SHA2-384
            add_notify(cb, Protocol::None, notify::kSignatureHashAlgorithms, hashes, sizeof hashes);
        }
        size_t const len = cb.finish();
        msg2.assign(buf, buf + len);
        EXPECT_TRUE(derive_ike_keys(ni.data(), ni.size(), nr, sizeof nr, gir, dh.secret_len(),
                                    spi_i, spi_r, static_cast<u8>(key_bits / 8), keys));
        return msg2;
    }

    // Decrypts a request of the initiator; returns the inner chain and its first type.
    bool open_request(Buf const& req, Buf& plain, u8& first, Header& h) {
        Buf m = req;
        PayloadList pl{};
        if (parse_message(m.data(), m.size(), h, pl) != ParseError::Ok || pl.count == 0)
            return false;
        SkKey k = keys.sk_ei;  // the initiator's direction
        u8* p = nullptr;
        size_t n = 0;
        if (open_sk(m.data(), pl.item[pl.count - 1], k, p, n) != ParseError::Ok)
            return false;
        plain.assign(p, p + n);
        first = pl.inner_first;
        return true;
    }

    // An encrypted message from the gateway: `inner` built by fill().
    template <class Fill>
    Buf encrypted(u8 exchange, u8 flags, u32 msg_id, Fill fill) {
        u8 inner[4096];
        ChainBuilder in{inner, sizeof inner};
        fill(in);
        size_t const ilen = in.finish();
        u8 buf[4200];
        ChainBuilder cb{buf, sizeof buf};
        cb.header(Header{spi_i, spi_r, 0, kVersion, exchange, flags, msg_id, 0});
        size_t const len = seal_sk(cb, in.first(), inner, ilen, keys.sk_er, ++iv);
        return Buf(buf, buf + len);
    }

    // A message of ours (SK) resent as `count` SKF fragments (RFC 7383).
    std::vector<Buf> fragmented(Buf const& whole, u16 count) {
        Buf m = whole;
        Header h{};
        PayloadList pl{};
        EXPECT_EQ(parse_message(m.data(), m.size(), h, pl), ParseError::Ok);
        u8* plain = nullptr;
        size_t plen = 0;
        EXPECT_EQ(open_sk(m.data(), pl.item[pl.count - 1], keys.sk_er, plain, plen),
                  ParseError::Ok);
        std::vector<Buf> out;
        size_t const step = (plen + count - 1) / count;
        for (u16 f = 0; f < count; ++f) {
            size_t const from = f * step, n = from + step > plen ? plen - from : step;
            u8 buf[2048];
            ChainBuilder cb{buf, sizeof buf};
            cb.header(h);
            size_t const len = seal_skf(cb, pl.inner_first, static_cast<u16>(f + 1), count,
                                        plain + from, n, keys.sk_er, ++iv);
            out.emplace_back(buf, buf + len);
        }
        return out;
    }

    void psk_auth_payloads(ChainBuilder& in, u8 const (&idb)[4 + 64], bool bad) {
        add_id(in, Payload::IDr, id.type, id.data, id.len);
        u8 pad[kPrfBytes], auth[kPrfBytes];
        EXPECT_TRUE(psk_pad_key(reinterpret_cast<u8 const*>(psk.data()), psk.size(), pad));
        EXPECT_TRUE(psk_auth(pad, msg2.data(), msg2.size(), ni.data(), ni.size(), keys.sk_pr, idb,
                             4u + id.len, auth));
        if (bad)
            auth[0] ^= 1;
        add_auth(in, kAuthSharedKey, auth, sizeof auth);
    }

    // CERT, IDr and an RFC 7427 signature AUTH with the gateway's signer.
    void sign_auth(ChainBuilder& in, u8 const (&idb)[4 + 64], bool bad) {
        size_t cl = 0;
        u8 const* cert = signer->certificate(cl);
        add_id(in, Payload::IDr, id.type, id.data, id.len);
        add_cert(in, Payload::CERT, kCertX509Signature, cert, cl);
        u8 digest[kDigestBytes], sig[kMaxSignature], auth[600];
        if (classic) {
            sign_classic(in, idb, bad);
            return;
        }
        EXPECT_TRUE(signed_digest(msg2.data(), msg2.size(), ni.data(), ni.size(), keys.sk_pr, idb,
                                  4u + id.len, digest));
        bool const as_pss = pss && signer->scheme() == SigScheme::RsaPkcs1Sha256;
        size_t const sl = as_pss ? sign_rsa_pss(*signer, digest, rng(), sig, sizeof sig)
                                 : signer->sign(digest, sig, sizeof sig);
        EXPECT_NE(sl, 0u);
        if (bad)
            sig[sl / 2] ^= 1;
        size_t const al = encode_signature_auth(as_pss ? SigScheme::RsaPssSha256 : signer->scheme(), sig, sl, auth,
                                                sizeof auth);
        add_auth(in, kAuthDigitalSignature, auth, al);
    }

    // The classic methods, as a gateway without RFC 7427 signs (RFC 7296 §3.8, RFC 4754).
    void sign_classic(ChainBuilder& in, u8 const (&idb)[4 + 64], bool bad) {
        u8 sig[kMaxSignature];
        size_t sl = 0;
        u8 method = 0;
        if (signer->scheme() == SigScheme::RsaPkcs1Sha256) {
            u8 d1[kSha1Bytes];
            EXPECT_TRUE(signed_digest_sha1(msg2.data(), msg2.size(), ni.data(), ni.size(), keys.sk_pr,
                                           idb, 4u + id.len, d1));
            sl = signer->sign_sha1(d1, sig, sizeof sig);
            method = kAuthRsaSignature;
        } else {
            u8 digest[kDigestBytes], der[kMaxSignature], raw[kEcdsaP256Raw];
            EXPECT_TRUE(signed_digest(msg2.data(), msg2.size(), ni.data(), ni.size(), keys.sk_pr, idb,
                                      4u + id.len, digest));
            size_t const dl = signer->sign(digest, der, sizeof der);
            EXPECT_TRUE(ecdsa_der_to_raw(der, dl, raw));
            memcpy(sig, raw, sizeof raw);
            sl = sizeof raw;
            method = kAuthEcdsaP256;
        }
        EXPECT_NE(sl, 0u);
        if (bad)
            sig[sl / 2] ^= 1;
        add_auth(in, method, sig, sl);
    }

    struct AuthOpts {
        bool auth_failed = false;
        u16 child_error = 0;  // e.g. TS_UNACCEPTABLE
        bool bad_auth = false;
    };

    Buf auth_response(Buf const& req) { return auth_response(req, AuthOpts{}); }
    Buf auth_response(Buf const& req, AuthOpts o) {
        Buf plain;
        u8 first = 0;
        Header h{};
        EXPECT_TRUE(open_request(req, plain, first, h));
        return auth_reply(h.msg_id, o);
    }

    // Our SKF fragments of one request, opened and reassembled (RFC 7383).
    bool open_fragments(std::vector<Buf> const& frags, Buf& plain, u8& first, Header& h) {
        Reassembly r;
        r.reset();
        for (Buf const& f : frags) {
            Buf m = f;
            PayloadList pl{};
            if (parse_message(m.data(), m.size(), h, pl) != ParseError::Ok || pl.count == 0)
                return false;
            u16 num = 0, total = 0;
            u8* p = nullptr;
            size_t n = 0;
            if (open_skf(m.data(), pl.item[pl.count - 1], keys.sk_ei, num, total, p, n) !=
                ParseError::Ok)
                return false;
            if (r.add(h.msg_id, num, total, pl.inner_first, p, n) == Reassembly::Result::Complete) {
                plain.assign(r.data(), r.data() + r.size());
                first = r.first();
                return true;
            }
        }
        return false;
    }

    Buf auth_reply(u32 msg_id, AuthOpts o) {
        return encrypted(
            static_cast<u8>(Exchange::IkeAuth), flag::kResponse, msg_id, [&](ChainBuilder& in) {
                if (o.auth_failed) {
                    add_notify(in, Protocol::None, notify::kAuthenticationFailed, nullptr, 0);
                    return;
                }
                u8 idb[4 + 64] = {id.type, 0, 0, 0};
                memcpy(idb + 4, id.data, id.len);
                if (signer != nullptr) {
                    sign_auth(in, idb, o.bad_auth);
                } else {
                    psk_auth_payloads(in, idb, o.bad_auth);
                }
                if (o.child_error != 0) {
                    add_notify(in, Protocol::None, o.child_error, nullptr, 0);
                    return;
                }
                size_t const cp = in.begin(Payload::CP);
                u8 const cpb[] = {2, 0, 0, 0, 0, 1, 0, 4, 10, 3, 0, 7, 0, 3, 0, 4, 10, 3, 0, 53};
                in.w().bytes(cpb, sizeof cpb);
                in.end(cp);
                add_sa(in, Offer{Protocol::Esp, esp_spi, {256, 0}, {}});
                Ts4 const vip{0, 0, 65535, {10, 3, 0, 7}, {10, 3, 0, 7}};
                Ts4 const all{0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
                add_ts(in, Payload::TSi, &vip, 1);
                add_ts(in, Payload::TSr, &all, 1);
            });
    }
};

}  // namespace ike_fake
