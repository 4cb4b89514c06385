// The per-disk key policy: which sectors of which disk are encrypted with which key, which
// stay plaintext, and what happens to disks nobody listed.
#include "crypto/key_policy.hpp"

#include <gtest/gtest.h>
#include <string.h>

#include <string>

#include "tests/unit/prng.hpp"

using namespace tv;
using namespace tv::crypto;

namespace {

DiskSerial serial(std::string const& s) {
    DiskSerial d;
    EXPECT_EQ(make_serial(s.data(), s.size(), d), Status::Ok) << s;
    return d;
}

constexpr KeyId kKey{3};

TEST(DiskSerial, TrimsAtaPaddingButKeepsInnerSpaces) {
    DiskSerial const d = serial("   WD-WX 1234    ");
    EXPECT_STREQ(d.text, "WD-WX 1234");
    EXPECT_EQ(d.len, 10);
    std::string const with_nuls("QM00001\0\0\0", 10);
    EXPECT_EQ(serial(with_nuls), serial("QM00001"));
}

TEST(DiskSerial, RefusesEmptyOverlongAndUnprintableSerials) {
    DiskSerial d;
    EXPECT_EQ(make_serial("    ", 4, d), Status::Invalid);
    EXPECT_EQ(make_serial("123456789012345678901", 21, d), Status::Invalid);
    EXPECT_EQ(make_serial("12345678901234567890", 20, d), Status::Ok);
    EXPECT_EQ(make_serial("AB\x01" "C", 4, d), Status::Invalid);
    EXPECT_EQ(make_serial(nullptr, 0, d), Status::Invalid);
}

TEST(DiskSerial, ReadFromIdentifyWordsWithTheHighByteFirst) {
    u16 id[256] = {};
    char const text[21] = "        QM00001     ";  // how QEMU pads it: 20 characters
    for (int w = 0; w < 10; ++w)
        id[10 + w] = static_cast<u16>(static_cast<u8>(text[2 * w]) << 8 | static_cast<u8>(text[2 * w + 1]));
    id[9] = 0x4141;  // neighbours must not leak in
    id[20] = 0x4242;
    DiskSerial d;
    ASSERT_EQ(serial_from_identify(id, d), Status::Ok);
    EXPECT_STREQ(d.text, "QM00001");
}

TEST(KeyPolicy, UnlistedDiskIsDeniedByDefault) {
    KeyPolicy p;
    Decision const d = p.decide(serial("X"), Lba{0}, 8);
    EXPECT_EQ(d.treatment, Treatment::Deny);
    EXPECT_EQ(d.sectors, 8u);
}

TEST(KeyPolicy, UnlistedDisksCanBeLetThroughAsPlaintext) {
    KeyPolicy p;
    ASSERT_EQ(p.set_unlisted(Treatment::Plaintext), Status::Ok);
    EXPECT_EQ(p.decide(serial("X"), Lba{5}, 1).treatment, Treatment::Plaintext);
    EXPECT_EQ(p.set_unlisted(Treatment::Encrypt), Status::Invalid) << "no key to encrypt with";
}

TEST(KeyPolicy, ListedDiskIsEncryptedEverywhereWithItsKey) {
    KeyPolicy p;
    ASSERT_EQ(p.add_disk(serial("DISK-A"), kKey), Status::Ok);
    for (u64 const lba : {0ull, 1ull, 123456789ull, ~0ull}) {
        Decision const d = p.decide(serial("DISK-A"), Lba{lba}, 1);
        EXPECT_EQ(d.treatment, Treatment::Encrypt);
        EXPECT_EQ(d.key, kKey);
        EXPECT_EQ(d.sectors, 1u);
    }
    EXPECT_EQ(p.decide(serial("DISK-B"), Lba{0}, 1).treatment, Treatment::Deny);
}

TEST(KeyPolicy, RequestIsSplitAtThePlaintextRangesEdges) {
    KeyPolicy p;
    ASSERT_EQ(p.add_disk(serial("D"), kKey), Status::Ok);
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{100}, 50), Status::Ok);  // 100..149
    Decision d = p.decide(serial("D"), Lba{90}, 100);
    EXPECT_EQ(d.treatment, Treatment::Encrypt);
    EXPECT_EQ(d.sectors, 10u);  // 90..99
    d = p.decide(serial("D"), Lba{100}, 100);
    EXPECT_EQ(d.treatment, Treatment::Plaintext);
    EXPECT_EQ(d.sectors, 50u);  // 100..149
    d = p.decide(serial("D"), Lba{149}, 100);
    EXPECT_EQ(d.treatment, Treatment::Plaintext);
    EXPECT_EQ(d.sectors, 1u);
    d = p.decide(serial("D"), Lba{150}, 100);
    EXPECT_EQ(d.treatment, Treatment::Encrypt);
    EXPECT_EQ(d.sectors, 100u);
}

TEST(KeyPolicy, RunStopsAtTheNearestOfSeveralRanges) {
    KeyPolicy p;
    ASSERT_EQ(p.add_disk(serial("D"), kKey), Status::Ok);
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{1000}, 10), Status::Ok);
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{200}, 10), Status::Ok);  // added out of order
    EXPECT_EQ(p.decide(serial("D"), Lba{0}, 5000).sectors, 200u);
    EXPECT_EQ(p.decide(serial("D"), Lba{210}, 5000).sectors, 790u);
}

TEST(KeyPolicy, RangeEndingAtTheLastLbaDoesNotOverflow) {
    KeyPolicy p;
    ASSERT_EQ(p.add_disk(serial("D"), kKey), Status::Ok);
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{~0ull - 9}, 10), Status::Ok);
    Decision const d = p.decide(serial("D"), Lba{~0ull - 9}, ~0ull);
    EXPECT_EQ(d.treatment, Treatment::Plaintext);
    EXPECT_EQ(d.sectors, 10u);
    EXPECT_EQ(p.add_plaintext_range(serial("D"), Lba{~0ull}, 2), Status::Invalid);
    EXPECT_EQ(p.decide(serial("D"), Lba{0}, ~0ull).sectors, ~0ull - 9);
}

TEST(KeyPolicy, RefusesBadRangesAndDuplicates) {
    KeyPolicy p;
    EXPECT_EQ(p.add_plaintext_range(serial("D"), Lba{0}, 1), Status::NotFound);
    ASSERT_EQ(p.add_disk(serial("D"), kKey), Status::Ok);
    EXPECT_EQ(p.add_disk(serial("D"), KeyId{4}), Status::Exists);
    EXPECT_EQ(p.add_plaintext_range(serial("D"), Lba{0}, 0), Status::Invalid);
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{10}, 10), Status::Ok);
    EXPECT_EQ(p.add_plaintext_range(serial("D"), Lba{19}, 5), Status::Exists) << "overlaps the end";
    EXPECT_EQ(p.add_plaintext_range(serial("D"), Lba{0}, 11), Status::Exists) << "overlaps the start";
    EXPECT_EQ(p.add_plaintext_range(serial("D"), Lba{20}, 5), Status::Ok) << "touching is fine";
    EXPECT_EQ(p.add_disk(DiskSerial{}, kKey), Status::Invalid);
}

TEST(KeyPolicy, TouchingRangesActAsOneRun) {
    KeyPolicy p;
    ASSERT_EQ(p.add_disk(serial("D"), kKey), Status::Ok);
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{10}, 10), Status::Ok);  // 10..19
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{30}, 10), Status::Ok);  // 30..39
    ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{20}, 10), Status::Ok);  // joins both
    Decision const d = p.decide(serial("D"), Lba{10}, 100);
    EXPECT_EQ(d.treatment, Treatment::Plaintext);
    EXPECT_EQ(d.sectors, 30u);
    // The merged range takes one table entry: the rest are still free.
    for (u32 i = 1; i < KeyPolicy::kMaxPlainRanges; ++i)
        ASSERT_EQ(p.add_plaintext_range(serial("D"), Lba{1000 * i}, 1), Status::Ok) << i;
}

TEST(KeyPolicy, TablesAreBoundedAndSaySoWhenFull) {
    KeyPolicy p;
    for (u32 i = 0; i < KeyPolicy::kMaxDisks; ++i)
        ASSERT_EQ(p.add_disk(serial("D" + std::to_string(i)), KeyId{static_cast<u8>(i)}), Status::Ok);
    EXPECT_EQ(p.add_disk(serial("ONE-TOO-MANY"), kKey), Status::NoMemory);
    for (u32 i = 0; i < KeyPolicy::kMaxPlainRanges; ++i)
        ASSERT_EQ(p.add_plaintext_range(serial("D0"), Lba{i * 100}, 10), Status::Ok);
    EXPECT_EQ(p.add_plaintext_range(serial("D0"), Lba{5000}, 1), Status::NoMemory);
    EXPECT_EQ(p.decide(serial("D7"), Lba{0}, 1).key, KeyId{7});
}

TEST(KeyPolicy, DecisionsAgreeWithAPerSectorModel) {
    // Random ranges and requests against a direct sector-by-sector answer.
    test::Prng rng{2024};
    for (int round = 0; round < 50; ++round) {
        KeyPolicy p;
        ASSERT_EQ(p.add_disk(serial("M"), kKey), Status::Ok);
        bool plain[512] = {};
        for (int r = 0; r < 6; ++r) {
            u64 const first = rng.below(500);
            u64 const count = 1 + rng.below(40);
            if (p.add_plaintext_range(serial("M"), Lba{first}, count) == Status::Ok)
                for (u64 s = first; s < first + count && s < 512; ++s)
                    plain[s] = true;
        }
        for (int q = 0; q < 100; ++q) {
            u64 const lba = rng.below(480);
            u64 const count = rng.below(32);
            Decision const d = p.decide(serial("M"), Lba{lba}, count);
            ASSERT_LE(d.sectors, count);
            if (count == 0)
                continue;
            ASSERT_GE(d.sectors, 1u);
            for (u64 s = lba; s < lba + d.sectors; ++s)
                ASSERT_EQ(plain[s], d.treatment == Treatment::Plaintext) << "sector " << s;
            if (d.sectors < count) {  // a run ends only where the treatment changes
                ASSERT_NE(plain[lba + d.sectors], d.treatment == Treatment::Plaintext);
            }
        }
    }
}

}  // namespace
