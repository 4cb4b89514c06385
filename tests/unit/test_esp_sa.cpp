// The SA database (vpn/sa): installation from KEYMAT, lookup, rekey switch-over, deletion with
// key wiping, lifetimes.
#include <gtest/gtest.h>

#include <string.h>

#include "vpn/sa.hpp"

using namespace tv;
using namespace tv::vpn;

namespace {

struct Keymat {
    u8 bytes[2 * (32 + 4)];
    Keymat(u8 seed = 1) {
        for (unsigned i = 0; i < sizeof bytes; ++i)
            bytes[i] = static_cast<u8>(seed + i);
    }
};

ChildSaSpec spec(Keymat const& km, u32 in, u32 out, u64 key_bytes = 16) {
    ChildSaSpec s;
    s.spi_in = in;
    s.spi_out = out;
    s.keymat = km.bytes;
    s.keymat_len = 2 * (key_bytes + 4);
    s.key_bytes = key_bytes;
    s.now_s = 100;
    return s;
}

// SaDb has no destructor (a global one must need no static constructor or destructor): the
// owner clears it, as IKE does on shutdown.
struct ClearAtEnd {
    SaDb& db;
    ~ClearAtEnd() { db.clear(); }
};

}  // namespace

TEST(EspSa, InstallFindsInboundBySpiAndMakesThePairOutbound) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat km;
    ASSERT_TRUE(ok(db.install(spec(km, 0x1111, 0x2222))));
    SaPair* p = db.find_inbound(0x1111);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p, db.outbound());
    EXPECT_EQ(p->out.spi, 0x2222u);
    EXPECT_EQ(db.find_inbound(0x2222), nullptr);  // an outbound SPI is not an inbound one
    EXPECT_EQ(db.find_inbound(0x3333), nullptr);
}

// RFC 7296 section 2.17 and RFC 4106 section 8.1: KEYMAT = key_i salt_i key_r salt_r.
TEST(EspSa, InitiatorSendsWithTheFirstHalfOfKeymatAndItsSalt) {
    for (u64 kb : {16u, 32u}) {
        SaDb db;
        ClearAtEnd end_db{db};
        Keymat km;
        ASSERT_TRUE(ok(db.install(spec(km, 1, 2, kb))));
        SaPair* p = db.outbound();
        EXPECT_EQ(0, memcmp(p->out.salt, km.bytes + kb, 4));
        EXPECT_EQ(0, memcmp(p->in.salt, km.bytes + kb + 4 + kb, 4));

        SaDb rdb;
        ClearAtEnd end_rdb{rdb};
        ChildSaSpec rs = spec(km, 2, 1, kb);
        rs.initiator = false;
        ASSERT_TRUE(ok(rdb.install(rs)));
        EXPECT_EQ(0, memcmp(rdb.outbound()->out.salt, km.bytes + kb + 4 + kb, 4));
        EXPECT_EQ(0, memcmp(rdb.outbound()->in.salt, km.bytes + kb, 4));
    }
}

TEST(EspSa, InstallRefusesBadKeyLengthShortKeymatZeroAndDuplicateSpis) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat km;
    EXPECT_EQ(db.install(spec(km, 1, 2, 24)), Status::Invalid);
    ChildSaSpec s = spec(km, 1, 2);
    s.keymat_len = 39;
    EXPECT_EQ(db.install(s), Status::Invalid);
    EXPECT_EQ(db.install(spec(km, 0, 2)), Status::Invalid);
    EXPECT_EQ(db.install(spec(km, 1, 0)), Status::Invalid);
    ASSERT_TRUE(ok(db.install(spec(km, 1, 2))));
    EXPECT_EQ(db.install(spec(km, 1, 3)), Status::Exists);
    EXPECT_EQ(db.install(spec(km, 3, 2)), Status::Exists);
    EXPECT_EQ(db.live_pairs(), 1u);
}

// The peer picks its SPIs without knowing ours: the same value on both sides is legitimate.
TEST(EspSa, PeerMayChooseTheSameSpiValueAsOurs) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat km;
    ASSERT_TRUE(ok(db.install(spec(km, 7, 7))));
    ASSERT_TRUE(ok(db.install(spec(km, 8, 9))));
    ASSERT_TRUE(ok(db.install(spec(km, 9, 8))));
    EXPECT_EQ(db.find_inbound(9)->out.spi, 8u);
    ASSERT_TRUE(ok(db.remove_by_outbound(9)));
    EXPECT_EQ(db.find_inbound(8), nullptr);
    EXPECT_NE(db.find_inbound(9), nullptr);
}

TEST(EspSa, RekeyKeepsTheOldInboundValidAndSwitchesOutbound) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat a(1), b(50);
    ASSERT_TRUE(ok(db.install(spec(a, 0x10, 0x20))));
    ASSERT_TRUE(ok(db.install(spec(b, 0x11, 0x21))));
    EXPECT_NE(db.find_inbound(0x10), nullptr);
    EXPECT_NE(db.find_inbound(0x11), nullptr);
    EXPECT_EQ(db.outbound()->out.spi, 0x21u);
    ASSERT_TRUE(ok(db.remove_by_inbound(0x10)));  // the old pair's Delete
    EXPECT_EQ(db.find_inbound(0x10), nullptr);
    EXPECT_EQ(db.outbound()->out.spi, 0x21u);
}

TEST(EspSa, DeletingTheOutboundPairFallsBackToTheNewestOther) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat a(1);
    ASSERT_TRUE(ok(db.install(spec(a, 0x10, 0x20))));
    ASSERT_TRUE(ok(db.install(spec(a, 0x11, 0x21))));
    ASSERT_TRUE(ok(db.install(spec(a, 0x12, 0x22))));
    ASSERT_TRUE(ok(db.remove_by_outbound(0x22)));
    EXPECT_EQ(db.outbound()->out.spi, 0x21u);
    db.clear();
    EXPECT_EQ(db.outbound(), nullptr);
    EXPECT_EQ(db.remove_by_inbound(0x10), Status::NotFound);
}

TEST(EspSa, DatabaseIsFixedSizeAndRefusesWhenFull) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat a(1);
    for (u32 i = 0; i < kSaPairs; ++i)
        ASSERT_TRUE(ok(db.install(spec(a, 100 + i, 200 + i))));
    EXPECT_EQ(db.install(spec(a, 99, 199)), Status::NoMemory);
    EXPECT_EQ(db.outbound()->out.spi, 200 + kSaPairs - 1);
}

TEST(EspSa, DeleteWipesKeysAndSalt) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat a(1);
    ASSERT_TRUE(ok(db.install(spec(a, 0x10, 0x20))));
    SaPair* p = db.find_inbound(0x10);
    ASSERT_TRUE(p->in.gcm.keyed());
    ASSERT_TRUE(ok(db.remove_by_inbound(0x10)));
    EXPECT_FALSE(p->in.gcm.keyed());
    EXPECT_FALSE(p->out.gcm.keyed());
    u8 const zero[4] = {};
    EXPECT_EQ(0, memcmp(p->in.salt, zero, 4));
    EXPECT_EQ(0, memcmp(p->out.salt, zero, 4));
    // The key schedule storage is all zero bytes.
    auto const* raw = reinterpret_cast<u8 const*>(&p->out.gcm);
    for (size_t i = 0; i < sizeof p->out.gcm; ++i)
        ASSERT_EQ(raw[i], 0) << i;
}

TEST(EspSa, LifetimesSignalSoftThenHard) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat a(1);
    ChildSaSpec s = spec(a, 1, 2);
    s.life.soft = {.bytes = 0, .packets = 10, .seconds = 50};
    s.life.hard = {.bytes = 1000, .packets = 20, .seconds = 60};
    ASSERT_TRUE(ok(db.install(s)));
    SaPair& p = *db.outbound();
    EXPECT_EQ(sa_limit(p, 100), SaLimit::Ok);
    EXPECT_EQ(sa_limit(p, 150), SaLimit::Soft);
    EXPECT_EQ(sa_limit(p, 160), SaLimit::Hard);
    p.in.counters.packets = 10;
    EXPECT_EQ(sa_limit(p, 100), SaLimit::Soft);
    p.in.counters.bytes = 1000;
    EXPECT_EQ(sa_limit(p, 100), SaLimit::Hard);
}

TEST(EspSa, SequenceNumberAsksForRekeyLongBeforeItWraps) {
    SaDb db;
    ClearAtEnd end_db{db};
    Keymat a(1);
    ASSERT_TRUE(ok(db.install(spec(a, 1, 2))));
    SaPair& p = *db.outbound();
    p.out.seq = kSeqSoft - 1;
    EXPECT_EQ(sa_limit(p, 100), SaLimit::Ok);
    p.out.seq = kSeqSoft;
    EXPECT_EQ(sa_limit(p, 100), SaLimit::Soft);
    p.out.seq = kSeqHard;
    EXPECT_EQ(sa_limit(p, 100), SaLimit::Hard);
    static_assert(kSeqHard - kSeqSoft >= (1u << 28) - 1);
}

// The monitor keeps its SA database in a global: it must be constant-initialized (no static
// constructor runs before the monitor's explicit init order). constinit fails to compile
// otherwise.
constinit SaDb g_monitor_like_db;

TEST(EspSa, GlobalDatabaseNeedsNoStaticConstructor) {
    EXPECT_EQ(g_monitor_like_db.live_pairs(), 0u);
    EXPECT_EQ(g_monitor_like_db.outbound(), nullptr);
}
