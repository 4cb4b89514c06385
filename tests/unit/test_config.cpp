// thinvisor.conf is parsed strictly: every mistake is an error with its line number.
#include <gtest/gtest.h>

#include <string>

#include "config_parse.hpp"
#include "core/config.hpp"
#include "core/config_values.hpp"

using namespace tv;

namespace {

using test_config::parse;
using test_config::Result;

void expect_error(std::string const& text, u32 line, char const* fragment) {
    Result r = parse(text);
    ASSERT_FALSE(r.ok) << text;
    EXPECT_EQ(r.err.line, line) << r.err.message;
    EXPECT_NE(std::string(r.err.message).find(fragment), std::string::npos) << r.err.message;
}

constexpr char kFull[] =
    "# thinvisor.conf\n"
    "[network]\n"
    "dhcp = no\n"
    "mac = 52:54:00:aa:bb:0c\n"
    "address = 10.0.2.15\n"
    "netmask = 255.255.255.0\n"
    "gateway = 10.0.2.2\n"
    "syslog = 10.0.2.2:514\n"
    "\n"
    "[aoe]\n"
    "shelf = 1\n"
    "slot = 0x2\n"
    "mtu = 9000\n"
    "\n"
    "[disk.system]\n"
    "serial = QM00001\n"
    "keyslots = system.keys\n"
    "plaintext = 0-2047\n"
    "plaintext = 100000 - 200000\n"
    "[keys]\n"
    "passphrase_tries = 5\n";

}  // namespace

TEST(Config, FullExampleParsesIntoEveryField) {
    Result r = parse(kFull);
    ASSERT_TRUE(r.ok) << r.err.line << ": " << r.err.message;
    EXPECT_TRUE(r.cfg.network.present);
    EXPECT_FALSE(r.cfg.network.dhcp);
    EXPECT_EQ(r.cfg.network.mac.b[5], 0x0c);
    EXPECT_EQ(r.cfg.network.address.be, __builtin_bswap32(0x0A00020F));
    EXPECT_EQ(r.cfg.network.syslog_port, 514u);
    EXPECT_EQ(r.cfg.aoe.shelf, 1);
    EXPECT_EQ(r.cfg.aoe.slot, 2);
    EXPECT_EQ(r.cfg.aoe.mtu, 9000u);
    EXPECT_EQ(r.cfg.aoe.timeout_ms, 30000u);  // documented default
    ASSERT_EQ(r.cfg.disk_count, 1u);
    EXPECT_STREQ(r.cfg.disks[0].name, "system");
    EXPECT_STREQ(r.cfg.disks[0].serial, "QM00001");
    ASSERT_EQ(r.cfg.disks[0].plaintext_count, 2u);
    EXPECT_EQ(r.cfg.disks[0].plaintext[1].first, Lba{100000});
    EXPECT_EQ(r.cfg.disks[0].plaintext[1].last, Lba{200000});
    EXPECT_EQ(r.cfg.keys.passphrase_tries, 5u);
}

TEST(Config, UnknownKeyIsAnErrorWithItsLine) { expect_error("[aoe]\nshelf = 1\nslot = 1\nwindow = 8\n", 4, "unknown key 'window'"); }

TEST(Config, UnknownSectionIsAnError) { expect_error("[aoe]\nshelf=1\nslot=1\n[vpnx]\n", 4, "unknown section [vpnx]"); }

TEST(Config, BadValueIsNeverReplacedByADefault) {
    expect_error("[aoe]\nshelf = 1\nslot = 1\nmtu = 1500x\n", 4, "bad value '1500x' for 'mtu'");
    expect_error("[aoe]\nshelf = 65535\nslot = 1\n", 2, "bad value");  // broadcast shelf
    expect_error("[network]\ndhcp = maybe\nmac = 52:54:00:aa:bb:0c\n", 2, "bad value 'maybe'");
    expect_error("[network]\ndhcp = yes\nmac = 52:54:00:aa:bb\n", 3, "bad value");
    expect_error("[network]\ndhcp = no\nmac = 52:54:00:aa:bb:cc\naddress = 10.0.2.256\n", 4, "bad value");
}

TEST(Config, DuplicateKeyAndSectionAreErrors) {
    expect_error("[aoe]\nshelf = 1\nshelf = 2\nslot = 1\n", 3, "given twice");
    expect_error("[aoe]\nshelf = 1\nslot = 1\n[aoe]\n", 4, "appears twice");
    expect_error("[disk.a]\nserial=x\nkeyslots=k\n[disk.a]\n", 4, "defined twice");
}

TEST(Config, MissingRequiredKeyNamesTheSection) {
    expect_error("[aoe]\nshelf = 1\n", 2, "lacks the required key 'slot'");
    expect_error("[network]\ndhcp = no\nmac = 52:54:00:aa:bb:cc\n", 3, "needs address, netmask and gateway");
}

TEST(Config, SyntaxErrorsAreReported) {
    expect_error("[aoe\n", 1, "malformed section header");
    expect_error("shelf = 1\n", 1, "outside any section");
    expect_error("[aoe]\nshelf 1\n", 2, "expected 'key = value'");
    expect_error("[aoe]\nshelf =\n", 2, "has no value");
    expect_error("[disk]\n", 1, "disks are named [disk.NAME]");
    expect_error("[aoe.x]\n", 1, "others take no name");
}

TEST(Config, EmptyFileIsRefused) { expect_error("# nothing\n\n", 0, "configures nothing"); }

TEST(Config, CommentsBlankLinesAndCrlfAreAccepted) {
    Result r = parse("; comment\r\n[aoe]\r\n  shelf = 7  \r\nslot=3\r\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.aoe.shelf, 7);
}

TEST(Config, InvertedPlaintextRangeIsRefused) {
    expect_error("[disk.a]\nserial=x\nkeyslots=k\nplaintext = 10-5\n", 4, "bad value");
}

TEST(Config, TooManyPlaintextRangesAreRefused) {
    expect_error("[disk.a]\nserial=x\nkeyslots=k\nplaintext=1-2\nplaintext=3-4\nplaintext=5-6\nplaintext=7-8\nplaintext=9-10\n", 8,
                 "bad value");
}

TEST(ConfigValues, IntegersRejectOverflowAndJunk) {
    u64 v;
    EXPECT_TRUE(cfg::parse_u64(cfg::Span{"18446744073709551615", 20}, ~0ull, &v));
    EXPECT_FALSE(cfg::parse_u64(cfg::Span{"18446744073709551616", 20}, ~0ull, &v));
    EXPECT_FALSE(cfg::parse_u64(cfg::Span{"12a", 3}, ~0ull, &v));
    EXPECT_FALSE(cfg::parse_u64(cfg::Span{"", 0}, ~0ull, &v));
    EXPECT_TRUE(cfg::parse_u64(cfg::Span{"0xFf", 4}, 255, &v));
    EXPECT_EQ(v, 255u);
    EXPECT_FALSE(cfg::parse_u64(cfg::Span{"256", 3}, 255, &v));
}

TEST(ConfigValues, Ipv4NeedsExactlyFourOctets) {
    Ipv4 ip;
    EXPECT_TRUE(cfg::parse_ipv4(cfg::Span{"192.168.1.1", 11}, &ip));
    EXPECT_FALSE(cfg::parse_ipv4(cfg::Span{"192.168.1", 9}, &ip));
    EXPECT_FALSE(cfg::parse_ipv4(cfg::Span{"1.2.3.4.5", 9}, &ip));
    EXPECT_FALSE(cfg::parse_ipv4(cfg::Span{"1..3.4", 6}, &ip));
}

TEST(Config, DiskEntryNamesItsBusAtaByDefault) {
    Result r = parse("[aoe]\nshelf=1\nslot=2\n[disk.local]\nserial=QM1\nkeyslots=k\n[disk.net]\nbus = aoe\nkeyslots=n\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.disks[0].bus, DiskBus::Ata);
    EXPECT_EQ(r.cfg.disks[1].bus, DiskBus::Aoe);
    EXPECT_STREQ(r.cfg.disks[1].serial, "*");  // the one AoE disk, whatever its target's MAC
}

TEST(Config, AtaDiskEntryStillNeedsItsSerial) {
    expect_error("[disk.a]\nkeyslots=k\n", 2, "lacks the required key 'serial'");
}

TEST(Config, AoeDiskEntryNeedsTheAoeSectionAndIsUnique) {
    expect_error("[disk.a]\nbus=aoe\nkeyslots=k\n", 0, "no [aoe] section");
    expect_error("[aoe]\nshelf=1\nslot=1\n[disk.a]\nbus=aoe\nkeyslots=k\n[disk.b]\nbus=aoe\nkeyslots=j\n", 0,
                 "more than one");
    expect_error("[disk.a]\nserial=x\nkeyslots=k\nbus=scsi\n", 4, "bad value 'scsi'");  // usb: USB sticks (test_usb_policy)
}

TEST(Config, OverlappingPlaintextRangesAreRefused) {
    expect_error("[disk.a]\nserial=x\nkeyslots=k\nplaintext=0-9\nplaintext=9-12\n", 5, "plaintext ranges overlap");
    EXPECT_TRUE(parse("[disk.a]\nserial=x\nkeyslots=k\nplaintext=0-9\nplaintext=10-12\n").ok);
}

TEST(Config, IdeCdWriteIsDenyByDefaultAndTakesOnlyAllowOrDeny) {
    Result r = parse("[ide]\ncd_write = allow\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_TRUE(r.cfg.ide.cd_write);
    r = parse("[ide]\ncd_write = deny\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_FALSE(r.cfg.ide.cd_write);
    r = parse(kFull);
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_FALSE(r.cfg.ide.cd_write);
    expect_error("[ide]\ncd_write = yes\n", 2, "bad value 'yes'");
    expect_error("[ide]\ncd_write = allow\ncd_write = deny\n", 3, "given twice");
    expect_error("[ide]\nburn = allow\n", 2, "unknown key 'burn'");
}

TEST(Config, CardReaderIsReleasedByDefaultAndHiddenOnlyWhenTheSectionSaysHide) {
    Result r = parse("[disk.system]\nserial = S1\nkeyslots = k\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_FALSE(r.cfg.card.hide_reader);
    r = parse("[disk.system]\nserial = S1\nkeyslots = k\n[card]\nreader = hide\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_TRUE(r.cfg.card.hide_reader);
    r = parse("[disk.system]\nserial = S1\nkeyslots = k\n[card]\nreader = release\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_FALSE(r.cfg.card.hide_reader);
    expect_error("[disk.s]\nserial = S1\nkeyslots = k\n[card]\nreader = deny\n", 5, "bad value 'deny' for 'reader'");
    expect_error("[disk.s]\nserial = S1\nkeyslots = k\n[card]\nreader = hide\nreader = hide\n", 6, "given twice");
    expect_error("[disk.s]\nserial = S1\nkeyslots = k\n[card]\nwait = 5\n", 5, "unknown key 'wait' in section [card]");
}

TEST(Config, NetworkPingTakesAnAddress) {
    Result r = parse("[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\nping = 10.77.0.50\n");
    ASSERT_TRUE(r.ok) << r.err.message;
    EXPECT_EQ(r.cfg.network.ping.be, 0x3200'4D0Au);  // 10.77.0.50 in network byte order
    r = parse("[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\n");
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.cfg.network.ping.be, 0u);
    expect_error("[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\nping = 0.0.0.0\n", 4, "bad value");
    expect_error("[network]\ndhcp = yes\nmac = 52:54:00:aa:bb:0c\nping = host\n", 4, "bad value");
}
