// net/netstack on a scripted wire: ARP and ping on the monitor's address, syslog export
// (destination, format, order, lines queued before the link), DHCP against a scripted server,
// and malformed frames refused without harm. lwIP is one global instance: each test starts
// the stack on a fresh fake port and stops it again.
#include <gtest/gtest.h>

#include <random>

#include "net/netstack.hpp"
#include "tests/unit/test_net_fake.hpp"

namespace tv::net {
namespace {

using test::Bytes;
using test::FakePort;
using test::ip;

constexpr u32 kMonIp = ip(10, 0, 0, 2);
constexpr u32 kHostIp = ip(10, 0, 0, 1);
constexpr u16 kSyslogPort = 5514;

NetSettings static_settings(u32 syslog_host = kHostIp) {
    return NetSettings{false, kMonIp, ip(255, 255, 255, 0), kHostIp, syslog_host, kSyslogPort};
}

class NetStack : public ::testing::Test {
  protected:
    void SetUp() override {
        stack_stop();
        test::g_net_log.clear();
    }
    void TearDown() override { stack_stop(); }

    // Runs the stack for `ms` of fake time in 10 ms ticks, answering ARP for the host.
    void run(u32 ms, bool answer_arp = true) {
        for (u32 t = 0; t <= ms; t += 10) {
            stack_tick();
            if (answer_arp) reply_to_arp();
            test::g_now_ms += 10;
        }
    }
    void reply_to_arp() {
        for (Bytes const& f : port.sent) {
            if (test::ethertype(f) != 0x0806 || test::get16(f, 20) != 1) continue;
            u32 const target = test::get_ip(f, 38);
            if (target != kHostIp) continue;
            u32 const asker = test::get_ip(f, 28);
            port.rx.push_back(test::eth(test::kMonMac, test::kHostMac, 0x0806,
                                        test::arp(2, test::kHostMac, kHostIp, test::kMonMac, asker)));
        }
    }
    std::vector<std::string> syslog_messages() {
        std::vector<std::string> out;
        for (Bytes const& f : port.take())
            if (test::is_udp_to(f, kSyslogPort)) out.push_back(test::udp_payload(f));
        return out;
    }
    bool logged(std::string const& what) {
        for (auto const& l : test::g_net_log)
            if (l.find(what) != std::string::npos) return true;
        return false;
    }

    FakePort port;
};

TEST_F(NetStack, RefusesBadSettings) {
    NetSettings s = static_settings();
    EXPECT_EQ(stack_start(s, nullptr), Status::Invalid);
    s.address = 0;
    EXPECT_EQ(stack_start(s, &port), Status::Invalid);
    s = static_settings();
    s.syslog_port = 0;
    EXPECT_EQ(stack_start(s, &port), Status::Invalid);
    ASSERT_EQ(stack_start(static_settings(), &port), Status::Ok);
    FakePort other;
    EXPECT_EQ(stack_start(static_settings(), &other), Status::Exists);
}

TEST_F(NetStack, AnswersArpForItsAddress) {
    ASSERT_EQ(stack_start(static_settings(0), &port), Status::Ok);
    EXPECT_TRUE(stack_has_address());
    EXPECT_EQ(stack_address(), kMonIp);
    port.take();
    port.rx.push_back(test::eth(test::kBcast, test::kHostMac, 0x0806,
                                test::arp(1, test::kHostMac, kHostIp, {}, kMonIp)));
    port.rx.push_back(test::eth(test::kBcast, test::kHostMac, 0x0806,  // someone else's address
                                test::arp(1, test::kHostMac, kHostIp, {}, ip(10, 0, 0, 9))));
    stack_tick();
    auto const sent = port.take();
    ASSERT_EQ(sent.size(), 1u);
    Bytes const& r = sent[0];
    EXPECT_EQ(test::ethertype(r), 0x0806);
    EXPECT_EQ(0, memcmp(r.data(), test::kHostMac.b, 6));
    EXPECT_EQ(test::get16(r, 20), 2);  // reply
    EXPECT_EQ(0, memcmp(&r[22], test::kMonMac.b, 6));
    EXPECT_EQ(test::get_ip(r, 28), kMonIp);
    EXPECT_EQ(test::get_ip(r, 38), kHostIp);
    EXPECT_GE(r.size(), 60u);  // padded to the Ethernet minimum
}

TEST_F(NetStack, AnswersPing) {
    ASSERT_EQ(stack_start(static_settings(0), &port), Status::Ok);
    port.rx.push_back(test::eth(test::kMonMac, test::kHostMac, 0x0800,
                                test::ipv4(kHostIp, kMonIp, 1, test::icmp_echo(0x77, 3, "payload!"))));
    run(50);
    Bytes reply;
    for (Bytes const& f : port.take())
        if (test::ethertype(f) == 0x0800 && f[23] == 1) reply = f;
    ASSERT_FALSE(reply.empty());
    EXPECT_EQ(0, memcmp(reply.data(), test::kHostMac.b, 6));
    EXPECT_EQ(test::get_ip(reply, 26), kMonIp);
    EXPECT_EQ(test::get_ip(reply, 30), kHostIp);
    EXPECT_EQ(reply[34], 0);  // echo reply
    EXPECT_EQ(test::get16(reply, 38), 0x77);
    EXPECT_EQ(test::get16(reply, 40), 3);
    EXPECT_EQ(std::string(reply.begin() + 42, reply.begin() + 50), "payload!");
    EXPECT_EQ(inet_checksum(&reply[34], reply.size() - 34), 0);
}

TEST_F(NetStack, ExportsQueuedAndLaterLinesAsSyslog) {
    stack_queue_log("thinvisor: boot banner\n", 23);  // before the stack exists
    ASSERT_EQ(stack_start(static_settings(), &port), Status::Ok);
    stack_queue_log("later line\n", 11);
    run(30);
    // The frames went to the listener's MAC and address, from the monitor's.
    auto const sent = port.take();
    std::vector<std::string> msgs;
    for (Bytes const& f : sent) {
        if (!test::is_udp_to(f, kSyslogPort)) continue;
        EXPECT_EQ(0, memcmp(f.data(), test::kHostMac.b, 6));
        EXPECT_EQ(test::get_ip(f, 26), kMonIp);
        EXPECT_EQ(test::get_ip(f, 30), kHostIp);
        msgs.push_back(test::udp_payload(f));
    }
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0],
              "<134>1 - thinvisor-020000000010 thinvisor - - [meta sequenceId=\"1\"] thinvisor: boot banner");
    EXPECT_EQ(msgs[1], "<134>1 - thinvisor-020000000010 thinvisor - - [meta sequenceId=\"2\"] later line");
    EXPECT_EQ(stack_counters().syslog_sent, 2u);
}

TEST_F(NetStack, HoldsLinesWhileLinkDownOrTxFull) {
    port.link = false;
    ASSERT_EQ(stack_start(static_settings(), &port), Status::Ok);
    stack_queue_log("one", 3);
    run(100);
    EXPECT_TRUE(syslog_messages().empty());
    port.link = true;
    run(30);
    auto m = syslog_messages();
    ASSERT_EQ(m.size(), 1u);
    EXPECT_NE(m[0].find("] one"), std::string::npos);
    EXPECT_TRUE(logged("net: link up"));

    port.tx_full = true;
    stack_queue_log("two", 3);
    run(50);
    EXPECT_TRUE(syslog_messages().empty());
    EXPECT_GT(stack_counters().tx_dropped, 0u);
    port.tx_full = false;
    run(20);
    m = syslog_messages();
    ASSERT_EQ(m.size(), 1u);  // retried, not lost
    EXPECT_NE(m[0].find("sequenceId=\"2\"] two"), std::string::npos);
}

TEST_F(NetStack, ReportsDroppedLines) {
    for (u32 i = 0; i < 128 + 3; ++i) stack_queue_log("x", 1);
    ASSERT_EQ(stack_start(static_settings(), &port), Status::Ok);
    EXPECT_EQ(stack_pending_log(), 129u);
    EXPECT_EQ(stack_counters().syslog_dropped, 3u);
    run(200);
    EXPECT_EQ(stack_pending_log(), 0u);
    auto const m = syslog_messages();
    ASSERT_EQ(m.size(), 129u);
    EXPECT_NE(m[0].find("net: 3 log lines dropped"), std::string::npos);
    EXPECT_EQ(m[0].substr(0, 5), "<132>");  // warning
}

TEST_F(NetStack, SyslogBeyondTheSubnetGoesThroughTheGateway) {
    NetSettings s = static_settings(ip(192, 168, 7, 7));
    ASSERT_EQ(stack_start(s, &port), Status::Ok);
    stack_queue_log("far", 3);
    run(30);  // the gateway is kHostIp, which reply_to_arp answers
    auto const sent = port.take();
    bool found = false;
    for (Bytes const& f : sent)
        if (test::is_udp_to(f, kSyslogPort)) {
            found = true;
            EXPECT_EQ(0, memcmp(f.data(), test::kHostMac.b, 6));
            EXPECT_EQ(test::get_ip(f, 30), ip(192, 168, 7, 7));
        }
    EXPECT_TRUE(found);
}

// --- DHCP ---

u8 const* dhcp_option(Bytes const& f, u8 code, u8* len) {
    size_t i = 42 + 240;  // Ethernet + IP + UDP, BOOTP fixed part and magic cookie
    while (i + 1 < f.size() && f[i] != 255) {
        if (f[i] == 0) {
            ++i;
            continue;
        }
        if (f[i] == code) {
            *len = f[i + 1];
            return &f[i + 2];
        }
        i += 2u + f[i + 1];
    }
    return nullptr;
}

int dhcp_type(Bytes const& f) {
    u8 len = 0;
    u8 const* o = dhcp_option(f, 53, &len);
    return o && len == 1 ? *o : -1;
}

Bytes dhcp_reply(Bytes const& request, u8 type, u32 yiaddr, u32 server) {
    Bytes b(236, 0);
    b[0] = 2;
    b[1] = 1;
    b[2] = 6;
    memcpy(&b[4], &request[42 + 4], 4);  // xid
    memcpy(&b[16], &yiaddr, 4);
    memcpy(&b[20], &server, 4);
    memcpy(&b[28], test::kMonMac.b, 6);
    Bytes const opts{99, 130, 83, 99, 53, 1, type, 54, 4, 10, 0, 0, 1, 51, 4, 0, 0, 0x0e, 0x10,
                     1,  4,   255, 255, 255, 0, 3, 4, 10, 0, 0, 1, 255};
    b.insert(b.end(), opts.begin(), opts.end());
    return test::eth(test::kBcast, test::kHostMac, 0x0800,
                     test::ipv4(server, ip(255, 255, 255, 255), 17, test::udp(67, 68, b)));
}

Bytes find_dhcp(std::vector<Bytes> const& sent, int type) {
    for (Bytes const& f : sent)
        if (test::is_udp_to(f, 67) && dhcp_type(f) == type) return f;
    return {};
}

TEST_F(NetStack, DhcpLeaseIsApplied) {
    NetSettings s{true, 0, 0, 0, kHostIp, kSyslogPort};
    ASSERT_EQ(stack_start(s, &port), Status::Ok);
    EXPECT_FALSE(stack_has_address());
    stack_queue_log("before the lease", 16);
    run(20, false);
    Bytes const discover = find_dhcp(port.take(), 1);
    ASSERT_FALSE(discover.empty());
    EXPECT_EQ(0, memcmp(&discover[42 + 28], test::kMonMac.b, 6));
    u8 len = 0;

    u32 const leased = ip(10, 0, 0, 50);
    port.rx.push_back(dhcp_reply(discover, 2, leased, kHostIp));  // OFFER
    run(20, false);
    Bytes const request = find_dhcp(port.take(), 3);
    ASSERT_FALSE(request.empty());
    u8 const* wanted = dhcp_option(request, 50, &len);
    ASSERT_TRUE(wanted && len == 4);
    EXPECT_EQ(0, memcmp(wanted, &leased, 4));
    u8 const* server = dhcp_option(request, 54, &len);
    ASSERT_TRUE(server && len == 4);
    EXPECT_EQ(0, memcmp(server, &kHostIp, 4));
    u8 const* host = dhcp_option(request, 12, &len);
    ASSERT_NE(host, nullptr);
    EXPECT_EQ(std::string(reinterpret_cast<char const*>(host), len), "thinvisor-020000000010");

    port.rx.push_back(dhcp_reply(request, 5, leased, kHostIp));  // ACK
    run(3000);  // lwIP probes the address with ARP before it binds it
    EXPECT_TRUE(stack_has_address());
    EXPECT_EQ(stack_address(), leased);
    EXPECT_TRUE(logged("address 10.0.0.50 netmask 255.255.255.0 gateway 10.0.0.1 (DHCP lease)"));
    auto const m = syslog_messages();
    ASSERT_FALSE(m.empty());
    EXPECT_NE(m[0].find("before the lease"), std::string::npos);
}

TEST_F(NetStack, DhcpIgnoresRepliesForOthers) {
    NetSettings s{true, 0, 0, 0, 0, 0};
    ASSERT_EQ(stack_start(s, &port), Status::Ok);
    run(20, false);
    Bytes discover = find_dhcp(port.take(), 1);
    ASSERT_FALSE(discover.empty());
    discover[42 + 4] ^= 0xFF;  // another transaction
    port.rx.push_back(dhcp_reply(discover, 2, ip(10, 0, 0, 60), kHostIp));
    run(100, false);
    EXPECT_TRUE(find_dhcp(port.take(), 3).empty());
    EXPECT_FALSE(stack_has_address());
}

// --- hostile input ---

TEST_F(NetStack, MalformedFramesAreRefusedAndLogged) {
    ASSERT_EQ(stack_start(static_settings(0), &port), Status::Ok);
    Bytes bad = test::eth(test::kMonMac, test::kHostMac, 0x0800,
                          test::ipv4(kHostIp, kMonIp, 1, test::icmp_echo(1, 1, "x")));
    bad[24] ^= 0x55;  // header checksum
    port.rx.push_back(bad);
    port.rx.push_back(Bytes(14, 0));
    port.rx.back()[12] = 0x08;  // IPv4 type, no header
    run(10);
    EXPECT_EQ(stack_counters().rx_refused, 2u);
    EXPECT_TRUE(logged("refused a 43-byte frame: bad IP header checksum"));
    EXPECT_TRUE(logged("refused a 14-byte frame: too short"));
    for (Bytes const& f : port.take()) EXPECT_NE(f[23], 1);  // no echo reply
}

TEST_F(NetStack, RandomFramesDoNoHarm) {
    ASSERT_EQ(stack_start(static_settings(), &port), Status::Ok);
    std::mt19937 rng(7);
    for (int i = 0; i < 3000; ++i) {
        Bytes payload(rng() % 80, 0);
        for (u8& b : payload) b = static_cast<u8>(rng());
        u8 const proto = static_cast<u8>(std::array<u8, 4>{1, 6, 17, static_cast<u8>(rng())}[rng() % 4]);
        Bytes f = i % 3 == 0 ? test::eth(test::kBcast, test::kHostMac, 0x0806, payload)
                             : test::eth(test::kMonMac, test::kHostMac, 0x0800,
                                         test::ipv4(kHostIp, kMonIp, proto, payload));
        if (f.size() > 14 && rng() % 4 == 0)  // break a header byte too
            f[14 + rng() % std::min<size_t>(f.size() - 14, 20)] = static_cast<u8>(rng());
        port.rx.push_back(f);
        if (i % 50 == 0) run(10);
    }
    run(100);
    stack_queue_log("still alive", 11);
    run(50);
    auto const m = syslog_messages();
    ASSERT_FALSE(m.empty());
    EXPECT_NE(m.back().find("still alive"), std::string::npos);
}

}  // namespace
}  // namespace tv::net
