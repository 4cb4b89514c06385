// net/'s pure parts: the log backlog, the syslog message format, the frame check.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net/frame_check.hpp"
#include "net/log_backlog.hpp"
#include "net/ring_replay.hpp"
#include "net/syslog_format.hpp"
#include "tests/unit/test_net_fake.hpp"

namespace tv::net {
namespace {

std::string front(LogBacklog const& b) {
    size_t len = 0;
    char const* s = b.front(&len);
    return std::string(s, len);
}

TEST(NetBacklog, KeepsOrderAndCutsNewlines) {
    static LogBacklog b;
    b = LogBacklog{};
    b.push("first\r\n", 7);
    b.push("\n", 1);
    b.push("second", 6);
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(front(b), "first");
    b.pop();
    EXPECT_EQ(front(b), "second");
    b.pop();
    EXPECT_TRUE(b.empty());
    b.pop();  // popping an empty backlog is harmless
    EXPECT_TRUE(b.empty());
}

TEST(NetBacklog, DropsNewestWhenFullAndCounts) {
    static LogBacklog b;
    b = LogBacklog{};
    for (u32 i = 0; i < LogBacklog::kSlots + 5; ++i) {
        std::string const s = "line " + std::to_string(i);
        b.push(s.data(), s.size());
    }
    EXPECT_EQ(b.size(), LogBacklog::kSlots);
    EXPECT_EQ(b.dropped(), 5u);
    EXPECT_EQ(front(b), "line 0");
}

TEST(NetBacklog, TruncatesLongLines) {
    static LogBacklog b;
    b = LogBacklog{};
    std::string const s(LogBacklog::kLineMax + 50, 'x');
    b.push(s.data(), s.size());
    EXPECT_EQ(front(b).size(), LogBacklog::kLineMax);
    EXPECT_EQ(b.truncated(), 1u);
}

std::string format(char const* line, u32 seq = 1, size_t cap = 512) {
    char out[512];
    size_t const n = syslog_format(out, cap, "thinvisor-020000000010", seq, line, strlen(line));
    return std::string(out, n);
}

TEST(NetSyslog, Rfc5424Header) {
    EXPECT_EQ(format("thinvisor: running"),
              "<134>1 - thinvisor-020000000010 thinvisor - - [meta sequenceId=\"1\"] thinvisor: running");
}

TEST(NetSyslog, SeverityFromTheLine) {
    EXPECT_EQ(syslog_severity("panic: x", 8), Severity::Crit);
    EXPECT_EQ(syslog_severity("ide: command refused", 20), Severity::Warning);
    EXPECT_EQ(syslog_severity("net: 3 log lines dropped", 24), Severity::Warning);
    EXPECT_EQ(syslog_severity("boot: ok", 8), Severity::Info);
    EXPECT_EQ(format("panic: gone").substr(0, 5), "<130>");
}

TEST(NetSyslog, ControlBytesReplacedAndNewlinesCut) {
    EXPECT_EQ(format("a\x01" "b\x7f\n").substr(format("").size()), "a?b?");
}

TEST(NetSyslog, SequenceWrapsWithinRfcRange) {
    EXPECT_NE(format("x", 2147483648u).find("sequenceId=\"1\""), std::string::npos);
    EXPECT_NE(format("x", 2147483647u).find("sequenceId=\"2147483647\""), std::string::npos);
}

TEST(NetSyslog, TooSmallBufferGivesNothingOrCutsMessage) {
    EXPECT_EQ(format("hello", 1, 10), "");
    size_t const header = format("").size();
    EXPECT_EQ(format("hello", 1, header + 2).size(), header + 2);
}

std::vector<std::string> g_replayed;
void collect(char const* line, size_t len) { g_replayed.emplace_back(line, len); }

TEST(NetRingReplay, HandsOutCompleteLinesUpToTheOffset) {
    static char storage[256];
    LogRing ring;
    ring.init(storage, sizeof storage);
    std::string const text = "one\ntwo\nthree\n";
    ring.write(text.data(), text.size());
    g_replayed.clear();
    EXPECT_EQ(replay_ring_lines(ring, 8, collect), 2u);  // "one\ntwo\n"
    EXPECT_EQ(g_replayed, (std::vector<std::string>{"one", "two"}));
    g_replayed.clear();
    EXPECT_EQ(replay_ring_lines(ring, 1000, collect), 3u);  // clamped to what was written
}

TEST(NetRingReplay, SkipsTheLineTheRingCut) {
    static char storage[16];
    LogRing ring;
    ring.init(storage, sizeof storage);
    std::string const text = "first line\nab\ncd\n";  // 18 bytes: "fi" overwritten
    ring.write(text.data(), text.size());
    g_replayed.clear();
    EXPECT_EQ(replay_ring_lines(ring, ring.total_written(), collect), 2u);
    EXPECT_EQ(g_replayed, (std::vector<std::string>{"ab", "cd"}));
}

TEST(NetRingReplay, EmptyRingHandsNothing) {
    LogRing ring;
    ring.init(nullptr, 0);
    g_replayed.clear();
    EXPECT_EQ(replay_ring_lines(ring, 0, collect), 0u);
    EXPECT_TRUE(g_replayed.empty());
}

using test::Bytes;
using test::ip;

TEST(NetFrameCheck, AcceptsArpAndIpv4) {
    Bytes const a = test::eth(test::kBcast, test::kHostMac, 0x0806,
                              test::arp(1, test::kHostMac, ip(10, 0, 0, 1), {}, ip(10, 0, 0, 2)));
    EXPECT_EQ(frame_check(a.data(), a.size(), 1500), FrameVerdict::Ok);
    Bytes const p = test::eth(test::kMonMac, test::kHostMac, 0x0800,
                              test::ipv4(ip(10, 0, 0, 1), ip(10, 0, 0, 2), 1, test::icmp_echo(1, 1, "hi")));
    EXPECT_EQ(frame_check(p.data(), p.size(), 1500), FrameVerdict::Ok);
    Bytes padded = p;
    padded.resize(60);  // Ethernet padding after the packet
    EXPECT_EQ(frame_check(padded.data(), padded.size(), 1500), FrameVerdict::Ok);
}

TEST(NetFrameCheck, RefusesEachMalformation) {
    Bytes const good = test::eth(test::kMonMac, test::kHostMac, 0x0800,
                                 test::ipv4(ip(10, 0, 0, 1), ip(10, 0, 0, 2), 17, test::udp(1, 2, {})));
    EXPECT_EQ(frame_check(good.data(), 13, 1500), FrameVerdict::TooShort);
    EXPECT_EQ(frame_check(good.data(), 30, 1500), FrameVerdict::TooShort);
    EXPECT_EQ(frame_check(good.data(), good.size(), 10), FrameVerdict::TooLong);
    Bytes t = good;
    t[12] = 0x88;
    EXPECT_EQ(frame_check(t.data(), t.size(), 1500), FrameVerdict::WrongType);
    t = good;
    t[14] = 0x65;
    EXPECT_EQ(frame_check(t.data(), t.size(), 1500), FrameVerdict::BadIpVersion);
    t = good;
    t[14] = 0x44;
    EXPECT_EQ(frame_check(t.data(), t.size(), 1500), FrameVerdict::BadIpVersion);
    t = good;
    t[17] = 0xFF;  // total length beyond the frame
    EXPECT_EQ(frame_check(t.data(), t.size(), 1500), FrameVerdict::BadIpLength);
    t = good;
    t[22] ^= 1;  // TTL changed, checksum not
    EXPECT_EQ(frame_check(t.data(), t.size(), 1500), FrameVerdict::BadIpChecksum);
    Bytes a = test::eth(test::kBcast, test::kHostMac, 0x0806,
                        test::arp(1, test::kHostMac, ip(10, 0, 0, 1), {}, ip(10, 0, 0, 2)));
    a[18] = 0x86;  // protocol type IPv6
    EXPECT_EQ(frame_check(a.data(), a.size(), 1500), FrameVerdict::BadArp);
    EXPECT_EQ(frame_check(a.data(), 14 + 20, 1500), FrameVerdict::TooShort);
}

}  // namespace
}  // namespace tv::net
