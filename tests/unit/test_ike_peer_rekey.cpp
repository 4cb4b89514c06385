// The gateway rekeying the IKE SA (RFC 7296 §1.3.2, §2.18), after which it is the new SA's
// original initiator (our messages lose the Initiator flag and use SK_er), the Delete of the
// replaced SA, and rekey collisions (§2.8.1): a gateway rekey that crosses one of ours is
// answered TEMPORARY_FAILURE and ours completes.
#include <gtest/gtest.h>

#include "tests/unit/test_ike_rig.hpp"

using namespace ike_fake;

namespace {

// A message sealed with `k` under the given SPIs and flags.
Buf sealed(u64 spi_i, u64 spi_r, u8 exchange, u8 flags, u32 id, SkKey const& k, u64 iv,
           Buf const& inner, u8 first) {
    u8 buf[1024];
    ChainBuilder cb{buf, sizeof buf};
    cb.header(Header{spi_i, spi_r, 0, kVersion, exchange, flags, id, 0});
    size_t const len = seal_sk(cb, first, inner.data(), inner.size(), k, iv);
    return Buf(buf, buf + len);
}

bool opened(Buf const& m, SkKey const& k, Header& h, Buf& plain, u8& first) {
    Buf c = m;
    PayloadList pl{};
    u8* p = nullptr;
    size_t n = 0;
    if (parse_message(c.data(), c.size(), h, pl) != ParseError::Ok || pl.count == 0 ||
        open_sk(c.data(), pl.item[pl.count - 1], k, p, n) != ParseError::Ok)
        return false;
    plain.assign(p, p + n);
    first = pl.inner_first;
    return true;
}

}  // namespace

TEST(IkePeerRekey, GatewayRekeysTheIkeSaAndBecomesItsOriginalInitiator) {
    Rig r;
    r.up();
    u64 const old_i = r.ini.spi_i(), old_r = r.ini.spi_r();
    IkeKeys const old = r.gw.keys;
    // The gateway's CREATE_CHILD_SA: its new SPI, a nonce and a group 31 key share.
    u64 const gw_spi = 0x1122334455667788ull;
    u8 ni[32];
    for (u8 i = 0; i < 32; ++i)
        ni[i] = static_cast<u8>(7 * i + 1);
    Dh dh;
    u8 pub[kMaxKeBytes], gir[256];
    ASSERT_TRUE(dh.start(group::kCurve25519, r.gw.rng(), pub, sizeof pub));
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), 0, 0, [&](ChainBuilder& c) {
        add_sa(c, Offer{Protocol::Ike, gw_spi, {256, 128}, {group::kCurve25519, 0, 0}});
        add_nonce(c, ni, sizeof ni);
        add_ke(c, group::kCurve25519, pub, dh_public_len(group::kCurve25519));
    }));
    // Our answer, under the old SA: our SPI, Nr and KE.
    Header h{};
    Buf plain;
    u8 first = 0;
    ASSERT_TRUE(opened(r.last(), old.sk_ei, h, plain, first));
    EXPECT_EQ(h.spi_i, old_i);
    EXPECT_NE(h.flags & flag::kResponse, 0);
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* sa = in.find(Payload::SA);
    PayloadRef const* nr = in.find(Payload::Nonce);
    PayloadRef const* ke = in.find(Payload::KE);
    ASSERT_TRUE(sa && nr && ke);
    Chosen c{};
    ASSERT_EQ(decode_sa_reply(plain.data() + sa->off, sa->len, c), ParseError::Ok);
    u16 g = 0;
    u8 const* kd = nullptr;
    size_t kl = 0;
    ASSERT_EQ(decode_ke(plain.data() + ke->off, ke->len, g, kd, kl), ParseError::Ok);
    ASSERT_TRUE(dh.finish(kd, kl, gir, sizeof gir));
    IkeKeys nk{};
    ASSERT_TRUE(derive_ike_keys(ni, sizeof ni, plain.data() + nr->off, nr->len, gir,
                                dh.secret_len(), gw_spi, get64(c.spi), 32, nk, old.sk_d));
    EXPECT_EQ(r.ini.spi_i(), gw_spi);  // the gateway's SPI first now
    EXPECT_EQ(r.ini.spi_r(), get64(c.spi));
    EXPECT_TRUE(r.ev.said("the gateway rekeys the IKE SA"));
    // The gateway deletes the old SA under it; we answer under it.
    Buf del;
    {
        u8 b[16];
        ChainBuilder d{b, sizeof b};
        add_delete(d, Protocol::Ike, nullptr, 0);
        del.assign(b, b + d.finish());
    }
    r.deliver(sealed(old_i, old_r, static_cast<u8>(Exchange::Informational), 0, 1, old.sk_er, 900,
                     del, static_cast<u8>(Payload::Delete)));
    ASSERT_TRUE(opened(r.last(), old.sk_ei, h, plain, first));
    EXPECT_EQ(h.msg_id, 1u);
    EXPECT_TRUE(r.ev.said("replaced IKE SA"));
    // The new SA: the gateway's liveness check carries the Initiator flag and SK_ei; our answer
    // has neither flag nor key of the old role.
    r.deliver(sealed(gw_spi, get64(c.spi), static_cast<u8>(Exchange::Informational),
                     flag::kInitiator, 0, nk.sk_ei, 1, Buf{}, 0));
    ASSERT_TRUE(opened(r.last(), nk.sk_er, h, plain, first));
    EXPECT_EQ(h.flags, flag::kResponse);
    EXPECT_EQ(r.ini.state(), State::Established);
    // And our own request (shutdown's Delete) goes out as the original responder.
    r.ini.shutdown();
    ASSERT_TRUE(opened(r.last(), nk.sk_er, h, plain, first));
    EXPECT_EQ(h.flags, 0);
    r.deliver(sealed(gw_spi, get64(c.spi), static_cast<u8>(Exchange::Informational),
                     flag::kInitiator | flag::kResponse, h.msg_id, nk.sk_ei, 2, Buf{}, 0));
    EXPECT_EQ(r.ini.state(), State::Closed);
    EXPECT_EQ(r.ini.last_error(), Error::None);
}

TEST(IkePeerRekey, ChildRekeyCollisionIsAnsweredTemporaryFailureAndOursCompletes) {
    Config cfg = test_config();
    cfg.child_rekey_ms = 5000;
    Rig r(cfg);
    r.up();
    r.clock.t += 5000;
    r.ini.poll();  // our CREATE_CHILD_SA is in flight
    Buf const ours = r.last();
    u8 ni[32] = {1, 2, 3};
    Ts4 const all{0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), 0, 0, [&](ChainBuilder& c) {
        add_notify_spi(c, r.gw.esp_spi, notify::kRekeySa);
        add_sa(c, Offer{Protocol::Esp, 0x77, {256, 0}, {}});
        add_nonce(c, ni, sizeof ni);
        add_ts(c, Payload::TSi, &all, 1);
        add_ts(c, Payload::TSr, &all, 1);
    }));
    Header h{};
    Buf plain;
    u8 first = 0;
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    Notify n{};
    ASSERT_NE(in.find(Payload::Notify), nullptr);
    ASSERT_EQ(decode_notify(plain.data() + in.find(Payload::Notify)->off,
                            in.find(Payload::Notify)->len, n),
              ParseError::Ok);
    EXPECT_EQ(n.type, notify::kTemporaryFailure);
    EXPECT_EQ(r.ev.ups, 1);  // nothing installed for the gateway's attempt
    // Our rekey's answer arrives: exactly one new child SA.
    ASSERT_TRUE(r.gw.open_request(ours, plain, first, h));
    u8 nr[32] = {9, 9, 9};
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), flag::kResponse, h.msg_id,
                             [&](ChainBuilder& c) {
                                 add_sa(c, Offer{Protocol::Esp, 0x99, {256, 0}, {}});
                                 add_nonce(c, nr, sizeof nr);
                                 add_ts(c, Payload::TSi, &all, 1);
                                 add_ts(c, Payload::TSr, &all, 1);
                             }));
    EXPECT_EQ(r.ev.ups, 2);
    EXPECT_EQ(r.ev.last.spi_out, 0x99u);
    EXPECT_EQ(r.ini.counters().child_rekeys, 1u);
}

TEST(IkePeerRekey, IkeRekeyCollisionIsAnsweredTemporaryFailureAndOursCompletes) {
    Config cfg = test_config();
    cfg.ike_rekey_ms = 5000;
    Rig r(cfg);
    r.up();
    r.clock.t += 5000;
    r.ini.poll();  // our IKE SA rekey is in flight
    Buf const ours = r.last();
    u8 ni[32] = {4, 5, 6};
    u8 pub[kMaxKeBytes] = {9};
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), 0, 0, [&](ChainBuilder& c) {
        add_sa(c, Offer{Protocol::Ike, 0x4242, {256, 0}, {group::kCurve25519, 0, 0}});
        add_nonce(c, ni, sizeof ni);
        add_ke(c, group::kCurve25519, pub, 32);
    }));
    Header h{};
    Buf plain;
    u8 first = 0;
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_NE(h.flags & flag::kResponse, 0);
    EXPECT_TRUE(r.ev.said("refused the gateway's IKE SA rekey (notify 43)"));
    EXPECT_EQ(r.ini.spi_r(), r.gw.spi_r);  // no switch
    // Our rekey's answer: its key share still meets ours (refusing the gateway's kept it).
    ASSERT_TRUE(r.gw.open_request(ours, plain, first, h));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* ke = in.find(Payload::KE);
    ASSERT_NE(ke, nullptr);
    Dh dh;
    u8 gw_pub[32], gir[32], nr[32] = {5, 6, 7};
    ASSERT_TRUE(dh.start(group::kCurve25519, r.gw.rng(), gw_pub, sizeof gw_pub));
    ASSERT_TRUE(dh.finish(plain.data() + ke->off + 4, ke->len - 4u, gir, sizeof gir));
    r.deliver(r.gw.encrypted(
        static_cast<u8>(Exchange::CreateChildSa), flag::kResponse, h.msg_id, [&](ChainBuilder& c) {
            add_sa(c, Offer{Protocol::Ike, 0x5151, {256, 0}, {group::kCurve25519, 0, 0}});
            add_nonce(c, nr, sizeof nr);
            add_ke(c, group::kCurve25519, gw_pub, sizeof gw_pub);
        }));
    EXPECT_EQ(r.ini.spi_r(), 0x5151u);
    EXPECT_EQ(r.ini.counters().ike_rekeys, 1u);
    EXPECT_EQ(r.ini.state(), State::Established);
}
