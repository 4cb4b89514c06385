// The IKE initiator's state machine (vpn/ike/initiator*) against a scripted gateway
// (test_ike_fake.hpp): the exchanges, retransmission and backoff, COOKIE, INVALID_KE_PAYLOAD,
// the clear errors, a retransmitted response, DPD, the gateway's requests and Delete, the
// rekeys (our shutdown and its Delete: test_ike_shutdown.cpp).
#include <gtest/gtest.h>
#include <mbedtls/sha1.h>

#include "tests/unit/test_ike_rig.hpp"

using namespace ike_fake;

TEST(IkeInitiator, ComesUpAndHandsOverChildKeysTheGatewayDerivesToo) {
    Rig r;
    r.up();
    EXPECT_EQ(r.ev.ups, 1);
    EXPECT_EQ(r.ev.last.spi_out, r.gw.esp_spi);
    EXPECT_EQ(r.ev.last.inner_ip[3], 7);
    EXPECT_EQ(r.ev.last.dns[0][3], 53);
    ChildKeys want{};
    ASSERT_TRUE(derive_child_keys(r.gw.keys.sk_d, r.gw.ni.data(), r.gw.ni.size(), r.gw.nr,
                                  sizeof r.gw.nr, 32, want));
    EXPECT_EQ(memcmp(&want, &r.ev.last.keys, sizeof want), 0);
    EXPECT_EQ(r.ini.group(), group::kCurve25519);
    // IKE_SA_INIT on 500, IKE_AUTH floated to 4500.
    ASSERT_EQ(r.net.sent.size(), 2u);
    EXPECT_EQ(r.net.sent[0].port, kIkePort);
    EXPECT_EQ(r.net.sent[1].port, kNattPort);
}

TEST(IkeInitiator, PskIsWipedByConfigure) {
    FakeNet net;
    FakeClock clock;
    FakeEvents ev;
    u32 seed = 1;
    Initiator ini{net, clock, ev, crypto::Random{&lcg, &seed}};
    u8 psk[] = {'s', 'e', 'c', 'r', 'e', 't'};
    ASSERT_EQ(ini.configure(test_config(), psk, sizeof psk), Status::Ok);
    for (u8 b : psk)
        EXPECT_EQ(b, 0);
}

TEST(IkeInitiator, RequestsAreRetransmittedWithDoublingBackoffUpToTheCap) {
    Rig r;
    r.ini.start();
    std::vector<u64> at;
    for (u64 t = 0; t < 20000; t += 50) {
        size_t const before = r.net.sent.size();
        r.advance(50);
        if (r.net.sent.size() != before)
            at.push_back(r.clock.t);
    }
    ASSERT_GE(at.size(), 6u);
    EXPECT_EQ(at[0] - 1000, 500u);  // first retransmission after retransmit_ms
    EXPECT_EQ(at[1] - at[0], 1000u);
    EXPECT_EQ(at[2] - at[1], 2000u);
    EXPECT_EQ(at[3] - at[2], 4000u);
    EXPECT_EQ(at[4] - at[3], 4000u);            // capped
    EXPECT_EQ(r.ini.state(), State::InitSent);  // IKE_SA_INIT never gives up: the gateway may come
    EXPECT_EQ(r.net.sent.front().bytes, r.net.sent.back().bytes);
}

TEST(IkeInitiator, UnansweredIkeAuthFailsAfterItsTriesAndStartsOver) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    for (int i = 0; i < 100 && r.ini.state() == State::AuthSent; ++i)
        r.advance(500);
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::Timeout);
    r.advance(5000);
    EXPECT_EQ(r.ini.state(), State::InitSent);
    EXPECT_EQ(r.net.sent.back().port, kIkePort);
}

TEST(IkeInitiator, CookieIsSentBackAsTheFirstPayload) {
    Rig r;
    r.ini.start();
    u8 const cookie[] = {1, 2, 3, 4, 5, 6, 7, 8};
    r.deliver(r.gw.notify_response(r.last(), notify::kCookie, cookie, sizeof cookie), kIkePort);
    ASSERT_EQ(r.net.sent.size(), 2u);
    Parsed p = parse(r.last());
    ASSERT_GT(p.pl.count, 0);
    Notify n{};
    ASSERT_EQ(decode_notify(p.msg.data() + p.pl.item[0].off, p.pl.item[0].len, n), ParseError::Ok);
    EXPECT_EQ(n.type, notify::kCookie);
    ASSERT_EQ(n.data_len, sizeof cookie);
    EXPECT_EQ(memcmp(n.data, cookie, sizeof cookie), 0);
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkeInitiator, InvalidKeRetriesWithTheRequestedGroup) {
    Rig r;
    r.ini.start();
    u8 const want[] = {0, group::kModp2048};
    r.deliver(r.gw.notify_response(r.last(), notify::kInvalidKePayload, want, sizeof want),
              kIkePort);
    Parsed p = parse(r.last());
    PayloadRef const* ke = p.pl.find(Payload::KE);
    ASSERT_NE(ke, nullptr);
    EXPECT_EQ(get16(p.msg.data() + ke->off), group::kModp2048);
    EXPECT_EQ(ke->len, 4u + 256u);
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
    EXPECT_EQ(r.ini.group(), group::kModp2048);
    EXPECT_TRUE(r.ev.said("INVALID_KE_PAYLOAD"));
}

TEST(IkeInitiator, InvalidKeForAGroupNotOfferedFails) {
    Rig r;
    r.ini.start();
    u8 const want[] = {0, 2};
    r.deliver(r.gw.notify_response(r.last(), notify::kInvalidKePayload, want, sizeof want),
              kIkePort);
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::InvalidKe);
}

TEST(IkeInitiator, NoProposalChosenIsAClearError) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.notify_response(r.last(), notify::kNoProposalChosen, nullptr, 0), kIkePort);
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::NoProposalChosen);
    EXPECT_TRUE(r.ev.said("NO_PROPOSAL_CHOSEN"));
}

TEST(IkeInitiator, AuthenticationFailedIsAClearErrorAndNoChild) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    FakeGateway::AuthOpts o;
    o.auth_failed = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::AuthenticationFailed);
    EXPECT_TRUE(r.ev.said("AUTHENTICATION_FAILED"));
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeInitiator, LastFailureOutlivesTheRestartAndTheTunnelComingUp) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    FakeGateway::AuthOpts o;
    o.auth_failed = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    ASSERT_EQ(r.ini.last_failure(), Error::AuthenticationFailed);
    r.advance(test_config().restart_ms);  // starts over: the attempt's error is cleared
    ASSERT_EQ(r.ini.state(), State::InitSent);
    EXPECT_EQ(r.ini.last_error(), Error::None);
    EXPECT_EQ(r.ini.last_failure(), Error::AuthenticationFailed);
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    r.deliver(r.gw.auth_response(r.last()));
    ASSERT_EQ(r.ini.state(), State::Established);
    EXPECT_EQ(r.ini.last_failure(), Error::AuthenticationFailed);
}

TEST(IkeInitiator, GatewayAuthThatDoesNotVerifyIsRefused) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    FakeGateway::AuthOpts o;
    o.bad_auth = true;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_EQ(r.ini.last_error(), Error::PeerAuthBad);
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeInitiator, GatewayWithAnotherIdentityIsRefused) {
    Rig r;
    r.gw.id = id_of("impostor.test");
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.last_error(), Error::PeerAuthBad);
    EXPECT_EQ(r.ev.ups, 0);
}

TEST(IkeInitiator, TsUnacceptableIsAClearErrorAndTheIkeSaIsDeleted) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    FakeGateway::AuthOpts o;
    o.child_error = notify::kTsUnacceptable;
    r.deliver(r.gw.auth_response(r.last(), o));
    EXPECT_TRUE(r.ev.said("TS_UNACCEPTABLE"));
    EXPECT_EQ(r.ev.ups, 0);
    ASSERT_EQ(r.ini.state(), State::Deleting);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(first, static_cast<u8>(Payload::Delete));
    r.answer_empty(h.msg_id);
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::TsUnacceptable);
}

TEST(IkeInitiator, RetransmittedResponsesAreIgnored) {
    Rig r;
    r.ini.start();
    Buf const init = r.gw.init_response(r.last());
    r.deliver(init, kIkePort);
    Buf const auth = r.gw.auth_response(r.last());
    r.deliver(init, kIkePort);  // the IKE_SA_INIT response again, while IKE_AUTH is in flight
    EXPECT_EQ(r.ini.state(), State::AuthSent);
    r.deliver(auth);
    ASSERT_EQ(r.ini.state(), State::Established);
    size_t const sent = r.net.sent.size();
    r.deliver(auth);  // and the IKE_AUTH response again
    EXPECT_EQ(r.ini.counters().ignored_response, 2u);
    EXPECT_EQ(r.ini.state(), State::Established);
    EXPECT_EQ(r.ev.ups, 1);
    EXPECT_EQ(r.net.sent.size(), sent);
}

TEST(IkeInitiator, MalformedAndForeignMessagesAreCountedAndDropped) {
    Rig r;
    r.up();
    Buf bad = r.gw.encrypted(static_cast<u8>(Exchange::Informational), flag::kResponse, 2,
                             [](ChainBuilder&) {});
    bad[bad.size() - 1] ^= 1;  // ICV
    r.deliver(bad);
    Buf other =
        r.gw.encrypted(static_cast<u8>(Exchange::Informational), 0, 0, [](ChainBuilder&) {});
    put64(other.data(), 0x1234);  // another SA
    r.deliver(other);
    Buf esp = {0, 0, 0, 9, 1, 2, 3};  // not IKE: an ESP packet on 4500
    r.ini.on_datagram(kNattPort, esp.data(), esp.size());
    EXPECT_EQ(r.ini.counters().foreign, 2u);
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkeInitiator, DpdAfterIdleAndAnUnansweredOneTakesTheSaDown) {
    Rig r;
    r.up();
    size_t const sent = r.net.sent.size();
    r.advance(9000);
    EXPECT_EQ(r.net.sent.size(), sent);
    r.advance(1000);
    ASSERT_EQ(r.net.sent.size(), sent + 1);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(h.exchange, static_cast<u8>(Exchange::Informational));
    EXPECT_TRUE(plain.empty());
    r.answer_empty(h.msg_id);
    EXPECT_EQ(r.ini.state(), State::Established);
    for (int i = 0; i < 200 && r.ini.state() == State::Established; ++i)
        r.advance(500);
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::Timeout);
    EXPECT_EQ(r.ev.downs, 1);
}

TEST(IkeInitiator, GatewayRequestsAreAnsweredOnceAndRepeatedFromCache) {
    Rig r;
    r.up();
    Buf const dpd =
        r.gw.encrypted(static_cast<u8>(Exchange::Informational), 0, 0, [](ChainBuilder&) {});
    size_t const sent = r.net.sent.size();
    r.deliver(dpd);
    ASSERT_EQ(r.net.sent.size(), sent + 1);
    Buf const answer = r.last();
    Parsed p = parse(answer);
    EXPECT_EQ(p.h.flags & flag::kResponse, flag::kResponse);
    EXPECT_EQ(p.h.msg_id, 0u);
    r.deliver(dpd);  // our answer was lost: the same bytes again
    ASSERT_EQ(r.net.sent.size(), sent + 2);
    EXPECT_EQ(r.last(), answer);
    EXPECT_EQ(r.ini.counters().peer_requests, 1u);
}

TEST(IkeInitiator, GatewayDeleteIsAnsweredAndTearsTheSaDown) {
    Rig r;
    r.up();
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::Informational), 0, 0,
                             [](ChainBuilder& in) { add_delete(in, Protocol::Ike, nullptr, 0); }));
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::Deleted);
    EXPECT_EQ(r.ev.downs, 1);
    Parsed p = parse(r.last());
    EXPECT_EQ(p.h.flags & flag::kResponse, flag::kResponse);
}

TEST(IkeInitiator, ChildSaIsRekeyedNewBeforeOldAndTheOldPairDeleted) {
    Config cfg = test_config();
    cfg.child_rekey_ms = 5000;
    cfg.dpd_ms = 0;
    Rig r{cfg};
    r.up();
    u32 const old_in = r.ev.last.spi_in, old_out = r.ev.last.spi_out;
    r.advance(4000);
    size_t const sent = r.net.sent.size();
    r.advance(1000);
    ASSERT_EQ(r.net.sent.size(), sent + 1);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(h.exchange, static_cast<u8>(Exchange::CreateChildSa));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    Notify n{};
    ASSERT_EQ(decode_notify(plain.data() + in.item[0].off, in.item[0].len, n), ParseError::Ok);
    EXPECT_EQ(n.type, notify::kRekeySa);
    ASSERT_EQ(n.spi_len, 4);
    EXPECT_EQ(get32(n.spi), old_in);
    PayloadRef const* ni = in.find(Payload::Nonce);
    PayloadRef const* sa = in.find(Payload::SA);
    ASSERT_NE(ni, nullptr);
    ASSERT_NE(sa, nullptr);
    u32 const new_in = get32(plain.data() + sa->off + 8);
    u8 nr[32];
    for (u8 i = 0; i < 32; ++i)
        nr[i] = static_cast<u8>(200 + i);
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), flag::kResponse, h.msg_id,
                             [&](ChainBuilder& c) {
                                 add_sa(c, Offer{Protocol::Esp, 0x77777777, {128, 0}, {}});
                                 add_nonce(c, nr, sizeof nr);
                                 Ts4 const all{0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
                                 add_ts(c, Payload::TSi, &all, 1);
                                 add_ts(c, Payload::TSr, &all, 1);
                             }));
    ASSERT_EQ(r.ev.ups, 2);
    EXPECT_EQ(r.ev.downs, 0);  // the old pair stays until the gateway confirms its Delete
    EXPECT_EQ(r.ev.last.spi_in, new_in);
    EXPECT_EQ(r.ev.last.spi_out, 0x77777777u);
    EXPECT_EQ(r.ev.last.inner_ip[3], 7);
    ChildKeys want{};
    ASSERT_TRUE(derive_child_keys(r.gw.keys.sk_d, plain.data() + ni->off, ni->len, nr, sizeof nr,
                                  16, want));
    EXPECT_EQ(memcmp(&want, &r.ev.last.keys, sizeof want), 0);
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(first, static_cast<u8>(Payload::Delete));
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::Informational), flag::kResponse, h.msg_id,
                             [&](ChainBuilder& c) { add_delete(c, Protocol::Esp, &old_out, 1); }));
    EXPECT_EQ(r.ev.downs, 1);
    EXPECT_EQ(r.ev.down_in, old_in);
    EXPECT_EQ(r.ev.down_out, old_out);
    EXPECT_EQ(r.ini.state(), State::Established);
    EXPECT_EQ(r.ini.counters().child_rekeys, 1u);
}

// ESP's soft limit (the outbound sequence number near 2^32) asks for a rekey the clock would
// not: with no time-based rekey at all, the request alone starts CREATE_CHILD_SA.
TEST(IkeInitiator, ChildRekeyRequestedByEspStartsOneWithoutTheTimer) {
    Config cfg = test_config();
    cfg.child_rekey_ms = 0;
    cfg.dpd_ms = 0;
    Rig r{cfg};
    r.up();
    size_t const sent = r.net.sent.size();
    r.advance(60000);
    ASSERT_EQ(r.net.sent.size(), sent);
    r.ini.request_child_rekey();
    r.advance(10);
    ASSERT_EQ(r.net.sent.size(), sent + 1);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(h.exchange, static_cast<u8>(Exchange::CreateChildSa));
}

TEST(IkeInitiator, IkeSaIsRekeyedFromTheOldSkDAndTheOldOneDeleted) {
    Config cfg = test_config();
    cfg.ike_rekey_ms = 5000;
    cfg.dpd_ms = 0;
    Rig r{cfg};
    r.up();
    u64 const old_i = r.ini.spi_i();
    r.advance(5000);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(h.exchange, static_cast<u8>(Exchange::CreateChildSa));
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* sa = in.find(Payload::SA);
    PayloadRef const* ni = in.find(Payload::Nonce);
    PayloadRef const* ke = in.find(Payload::KE);
    ASSERT_TRUE(sa && ni && ke);
    Chosen offer{};
    ASSERT_EQ(decode_sa_reply(plain.data() + sa->off, sa->len, offer), ParseError::Ok);
    ASSERT_EQ(offer.spi_len, 8);
    EXPECT_EQ(offer.dh, group::kCurve25519);
    u64 const new_i = get64(offer.spi), new_r = 0x9999aaaabbbbccccull;
    Dh dh;
    u8 pub[32], gir[32], nr[32] = {5, 6, 7};
    ASSERT_TRUE(dh.start(group::kCurve25519, r.gw.rng(), pub, sizeof pub));
    ASSERT_TRUE(dh.finish(plain.data() + ke->off + 4, ke->len - 4u, gir, sizeof gir));
    IkeKeys next{};
    ASSERT_TRUE(derive_ike_keys(plain.data() + ni->off, ni->len, nr, sizeof nr, gir, sizeof gir,
                                new_i, new_r, 32, next, r.gw.keys.sk_d));
    r.deliver(r.gw.encrypted(
        static_cast<u8>(Exchange::CreateChildSa), flag::kResponse, h.msg_id, [&](ChainBuilder& c) {
            add_sa(c, Offer{Protocol::Ike, new_r, {256, 0}, {group::kCurve25519, 0, 0}});
            add_nonce(c, nr, sizeof nr);
            add_ke(c, group::kCurve25519, pub, sizeof pub);
        }));
    EXPECT_EQ(r.ini.spi_i(), new_i);
    EXPECT_EQ(r.ini.spi_r(), new_r);
    EXPECT_EQ(r.ini.counters().ike_rekeys, 1u);
    // The old SA's Delete, under its SPIs and keys.
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(h.spi_i, old_i);
    EXPECT_EQ(first, static_cast<u8>(Payload::Delete));
    // The new SA: message IDs from 0, the new keys.
    r.gw.keys = next;
    r.gw.spi_i = new_i;
    r.gw.spi_r = new_r;
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::Informational), 0, 0, [](ChainBuilder&) {}));
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));
    EXPECT_EQ(h.spi_i, new_i);
    EXPECT_EQ(h.msg_id, 0u);
    EXPECT_NE(h.flags & flag::kResponse, 0);
    EXPECT_EQ(r.ev.downs, 0);  // the child SA carries on
    EXPECT_EQ(r.ini.state(), State::Established);
}

// A gateway on its own port (4501): IKE_SA_INIT goes there from our 4500 behind the non-ESP
// marker (no float from 500), NAT detection hashes that port, and ESP and keepalives follow it.
TEST(IkeInitiator, GatewayOnItsOwnPortGetsEverythingThereFromOurPort4500) {
    Config cfg = test_config();
    cfg.gateway_port = 4501;
    cfg.force_encap = false;
    Rig r{cfg};
    EXPECT_EQ(r.ini.nat_port(), 4501);
    r.ini.start();
    ASSERT_EQ(r.net.sent.size(), 1u);
    EXPECT_EQ(r.net.sent[0].port, kNattPort);  // FakeNet checked the marker and took it off
    Parsed const init = parse(r.last());
    u8 want[20];
    {
        u8 in[22];
        put64(in, r.ini.spi_i());
        put64(in + 8, 0);
        memcpy(in + 16, cfg.gateway_ip, 4);
        put16(in + 20, 4501);
        ASSERT_EQ(mbedtls_sha1_ret(in, sizeof in, want), 0);
    }
    bool hashed = false;
    for (u8 i = 0; i < init.pl.count; ++i) {
        Notify n{};
        if (init.pl.item[i].type == static_cast<u8>(Payload::Notify) &&
            decode_notify(init.msg.data() + init.pl.item[i].off, init.pl.item[i].len, n) == ParseError::Ok &&
            n.type == notify::kNatDetectionDestinationIp)
            hashed = n.data_len == 20 && memcmp(n.data, want, 20) == 0;
    }
    EXPECT_TRUE(hashed);
    EXPECT_TRUE(r.ev.said("IKE_SA_INIT to 10.9.0.1:4501, SPI"));
    r.deliver(r.gw.init_response(r.last()));  // the answer comes back on 4500, behind the marker
    ASSERT_EQ(r.ini.state(), State::AuthSent);
    EXPECT_EQ(r.net.sent.back().port, kNattPort);
    r.deliver(r.gw.auth_response(r.last()));
    EXPECT_EQ(r.ini.state(), State::Established);
    r.ini.set_gateway_port(500);  // the next gateway on the usual ports: the float again
    EXPECT_EQ(r.ini.nat_port(), kNattPort);
    r.ini.shutdown();
    r.ini.start();
    EXPECT_EQ(r.net.sent.back().port, kIkePort);
}

// The gateway refuses every rekey (TEMPORARY_FAILURE): the old IKE SA stays until its hard
// lifetime, then the initiator starts over (the child goes with it) and comes up again.
TEST(IkeInitiator, IkeSaPastItsHardLifetimeIsStartedOverWhenEveryRekeyIsRefused) {
    Config cfg = test_config();
    cfg.ike_rekey_ms = 20000;
    cfg.dpd_ms = 0;
    Rig r{cfg};
    r.up();
    EXPECT_EQ(r.ev.last.hard_lifetime_s, 0u);  // no child rekey time: no child lifetime either
    EXPECT_EQ(hard_lifetime_ms(20000), 30000u);
    u64 const start = r.clock.t;
    int refused = 0;
    while (r.ini.state() == State::Established && r.clock.t - start < 40000) {
        size_t const before = r.net.sent.size();
        r.advance(100);
        if (r.net.sent.size() == before)
            continue;
        Buf plain;
        u8 first = 0;
        Header h{};
        if (!r.gw.open_request(r.last(), plain, first, h) || h.exchange != static_cast<u8>(Exchange::CreateChildSa))
            continue;
        ++refused;
        r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), flag::kResponse, h.msg_id,
                                 [](ChainBuilder& c) {
                                     add_notify(c, Protocol::None, notify::kTemporaryFailure, nullptr, 0);
                                 }));
    }
    EXPECT_GE(refused, 2);
    EXPECT_EQ(r.ini.state(), State::Failed);
    EXPECT_EQ(r.ini.last_error(), Error::Expired);
    EXPECT_GE(r.clock.t - start, 30000u);
    EXPECT_LT(r.clock.t - start, 30200u);
    EXPECT_EQ(r.ev.downs, 1);
    EXPECT_TRUE(r.ev.said("past its hard lifetime"));
    r.advance(cfg.restart_ms);
    EXPECT_EQ(r.ini.state(), State::InitSent);
}

TEST(IkeInitiator, ChildSaCarriesAHardLifetimeATenthAndAtLeast10SecondsPastItsRekeyTime) {
    Config cfg = test_config();
    cfg.child_rekey_ms = 20000;
    Rig r{cfg};
    r.up();
    EXPECT_EQ(r.ev.last.hard_lifetime_s, 30u);
    EXPECT_EQ(hard_lifetime_ms(3600000), 3960000u);
    EXPECT_EQ(hard_lifetime_ms(0), 0u);
}

TEST(IkeInitiator, GatewayRekeyOfTheChildIsAnsweredWithTheResponderHalfForSending) {
    Rig r;
    r.up();
    u32 const old_in = r.ev.last.spi_in;
    u8 ni[32];
    for (u8 i = 0; i < 32; ++i)
        ni[i] = static_cast<u8>(i * 3);
    Ts4 const all{0, 0, 65535, {0, 0, 0, 0}, {255, 255, 255, 255}};
    Buf const req =
        r.gw.encrypted(static_cast<u8>(Exchange::CreateChildSa), 0, 0, [&](ChainBuilder& c) {
            add_notify_spi(c, r.gw.esp_spi, notify::kRekeySa);
            // Two proposals: AES-CBC with an integrity transform (not ours), then AES-GCM-16-128.
            size_t const p = c.begin(Payload::SA);
            u8 const props[] = {2,    0,  0, 40,   1, 3, 4, 3,
                                0,    0,  0, 0x51,  // proposal 1, ESP, SPI 0x51, 3 transforms
                                3,    0,  0, 12,   1, 0, 0, 12,
                                0x80, 14, 0, 128,                // ENCR_AES_CBC 128
                                3,    0,  0, 8,    3, 0, 0, 12,  // AUTH_HMAC_SHA2_256_128
                                0,    0,  0, 8,    5, 0, 0, 0,   // no ESN
                                0,    0,  0, 32,   2, 3, 4, 2,
                                0,    0,  0, 0x52,  // proposal 2, ESP, SPI 0x52
                                3,    0,  0, 12,   1, 0, 0, 20,
                                0x80, 14, 0, 128,  // ENCR_AES_GCM_16 128
                                0,    0,  0, 8,    5, 0, 0, 0};
            c.w().bytes(props, sizeof props);
            c.end(p);
            add_nonce(c, ni, sizeof ni);
            add_ts(c, Payload::TSi, &all, 1);
            add_ts(c, Payload::TSr, &all, 1);
        });
    r.deliver(req);
    ASSERT_EQ(r.ev.ups, 2);
    EXPECT_EQ(r.ev.last.spi_out, 0x52u);
    Buf plain;
    u8 first = 0;
    Header h{};
    ASSERT_TRUE(r.gw.open_request(r.last(), plain, first, h));  // our answer, under SK_ei
    EXPECT_NE(h.flags & flag::kResponse, 0);
    PayloadList in{};
    ASSERT_EQ(parse_chain(plain.data(), 0, plain.size(), first, in), ParseError::Ok);
    PayloadRef const* sa = in.find(Payload::SA);
    PayloadRef const* nr = in.find(Payload::Nonce);
    ASSERT_TRUE(sa && nr && in.find(Payload::TSi) && in.find(Payload::TSr));
    Chosen c{};
    ASSERT_EQ(decode_sa_reply(plain.data() + sa->off, sa->len, c), ParseError::Ok);
    EXPECT_EQ(c.key_bits, 128);
    EXPECT_EQ(get32(c.spi), r.ev.last.spi_in);
    ChildKeys k{};
    ASSERT_TRUE(
        derive_child_keys(r.gw.keys.sk_d, ni, sizeof ni, plain.data() + nr->off, nr->len, 16, k));
    EXPECT_EQ(memcmp(&r.ev.last.keys.i_to_r, &k.r_to_i, sizeof k.r_to_i),
              0);  // we send with the responder's half
    EXPECT_EQ(memcmp(&r.ev.last.keys.r_to_i, &k.i_to_r, sizeof k.i_to_r), 0);
    u32 const gw_old = r.gw.esp_spi;
    r.deliver(r.gw.encrypted(static_cast<u8>(Exchange::Informational), 0, 1,
                             [&](ChainBuilder& d) { add_delete(d, Protocol::Esp, &gw_old, 1); }));
    EXPECT_EQ(r.ev.downs, 1);
    EXPECT_EQ(r.ev.down_in, old_in);
    EXPECT_EQ(r.ini.state(), State::Established);
}

TEST(IkeInitiator, NatKeepalivesGoOutOnTheirIntervalOnceUp) {
    Config cfg = test_config();
    cfg.keepalive_ms = 20000;
    cfg.dpd_ms = 0;
    Rig r{cfg};
    r.ini.start();
    r.advance(30000);  // not up yet: none (IKE_SA_INIT is being retransmitted)
    EXPECT_EQ(r.net.keepalives, 0);
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    r.deliver(r.gw.auth_response(r.last()));
    ASSERT_EQ(r.ini.state(), State::Established);
    r.advance(19999);
    EXPECT_EQ(r.net.keepalives, 0);
    r.advance(1);
    EXPECT_EQ(r.net.keepalives, 1);
    r.advance(20000);
    EXPECT_EQ(r.net.keepalives, 2);
}

TEST(IkeInitiator, FragmentedResponseIsReassembledOnceFragmentationWasAnnounced) {
    Rig r;
    r.gw.announce_fragmentation = true;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    std::vector<Buf> const frags = r.gw.fragmented(r.gw.auth_response(r.last()), 3);
    r.deliver(frags[2]);
    r.deliver(frags[0]);
    r.deliver(frags[0]);  // a duplicate changes nothing
    EXPECT_EQ(r.ini.state(), State::AuthSent);
    r.deliver(frags[1]);
    EXPECT_EQ(r.ini.state(), State::Established);
    EXPECT_EQ(r.ev.ups, 1);
}

TEST(IkeInitiator, FragmentsAreRefusedWhenTheGatewayDidNotAnnounceThem) {
    Rig r;
    r.ini.start();
    r.deliver(r.gw.init_response(r.last()), kIkePort);
    std::vector<Buf> const frags = r.gw.fragmented(r.gw.auth_response(r.last()), 2);
    for (Buf const& f : frags)
        r.deliver(f);
    EXPECT_EQ(r.ini.state(), State::AuthSent);
    EXPECT_EQ(r.ini.counters().malformed, 2u);
}
