// The policy file's parser (policies/policy_format): every field and length checked, one
// encoding per policy, and the builder's output accepted.
#include <gtest/gtest.h>

#include "policies/policy_format.hpp"
#include "test_policy_keys.hpp"

using namespace tv;
using namespace tv::policy;
using policy_test::make_policy;

namespace {

constexpr Range kTwo[] = {{4096, 4096, Action::Protect, "/bin/ls"},
                          {1049600, 256, Action::Protect, "/bin/ls"},
                          {1050000, 10, Action::Audit, "/etc/passwd"}};

PolicyRange& range_at(std::vector<u8>& p, u32 i) {
    return reinterpret_cast<PolicyRange*>(p.data() + sizeof(PolicyHeader))[i];
}
PolicyHeader& header_of(std::vector<u8>& p) { return *reinterpret_cast<PolicyHeader*>(p.data()); }

ParseError parse(std::vector<u8> const& p) {
    PolicyView v;
    return parse_policy(p.data(), p.size(), v);
}

}  // namespace

TEST(PolicyFormat, BuiltPolicyParsesWithItsRangesPathsAndIdentity) {
    auto p = make_policy(kTwo, 3, 7);
    ASSERT_FALSE(p.empty());
    PolicyView v;
    ASSERT_EQ(parse_policy(p.data(), p.size(), v), ParseError::None);
    EXPECT_EQ(v.version, 7u);
    EXPECT_EQ(v.bus, PolicyBus::Ata);
    EXPECT_STREQ(v.serial.text, "QM00001");
    ASSERT_EQ(v.range_count, 3u);
    EXPECT_EQ(v.range(1).offset, 1049600u);
    EXPECT_EQ(v.range(1).length, 256u);
    EXPECT_STREQ(v.range(1).path, "/bin/ls");
    EXPECT_EQ(v.range(2).action, Action::Audit);
    EXPECT_STREQ(v.range(2).path, "/etc/passwd");
    EXPECT_EQ(v.path_bytes, sizeof "/bin/ls" + sizeof "/etc/passwd");  // one copy of each path
    EXPECT_EQ(v.signed_len + kSignatureBytes, p.size());
}

TEST(PolicyFormat, EveryTruncationIsShortAndATrailingByteIsLong) {
    auto p = make_policy(kTwo, 3);
    for (size_t n = 0; n < p.size(); ++n) {
        PolicyView v;
        EXPECT_NE(parse_policy(p.data(), n, v), ParseError::None) << n;
    }
    p.push_back(0);
    EXPECT_EQ(parse(p), ParseError::Long);
}

TEST(PolicyFormat, MagicFormatVersionAndReservedBytesAreChecked) {
    auto p = make_policy(kTwo, 3);
    auto q = p;
    q[0] ^= 1;
    EXPECT_EQ(parse(q), ParseError::Magic);
    q = p;
    header_of(q).format_version.set(2);
    EXPECT_EQ(parse(q), ParseError::Format);
    q = p;
    header_of(q).reserved[15] = 1;
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    range_at(q, 1).reserved[0] = 1;
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).bus = 2;  // USB
    EXPECT_EQ(parse(q), ParseError::None);
    header_of(q).bus = 3;
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).policy_version.set(0);
    EXPECT_EQ(parse(q), ParseError::Field);
}

TEST(PolicyFormat, SerialMustBeCanonical) {
    auto p = make_policy(kTwo, 3);
    auto q = p;
    header_of(q).serial[0] = ' ';  // would be trimmed: not how DiskId holds it
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).serial[10] = 'X';  // past serial_len
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).serial_len = 0;
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).serial_len = 21;
    EXPECT_EQ(parse(q), ParseError::Field);
}

TEST(PolicyFormat, CountsBeyondTheCapsAreRefusedBeforeAnyLengthArithmetic) {
    auto p = make_policy(kTwo, 3);
    auto q = p;
    header_of(q).range_count.set(kMaxRanges + 1);
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).range_count.set(0xFFFFFFFF);
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).path_bytes.set(kMaxPathBytes + 1);
    EXPECT_EQ(parse(q), ParseError::Field);
    q = p;
    header_of(q).range_count.set(4);  // declares more than the file holds
    EXPECT_EQ(parse(q), ParseError::Short);
}

TEST(PolicyFormat, RangesMustBeSortedNonOverlappingNonEmptyAndOnTheDisk) {
    auto p = make_policy(kTwo, 3);
    auto q = p;
    range_at(q, 1).offset.set(4096 + 4095);  // overlaps the first by one byte
    EXPECT_EQ(parse(q), ParseError::Order);
    q = p;
    range_at(q, 1).offset.set(8192);  // touching is fine
    EXPECT_EQ(parse(q), ParseError::None);
    q = p;
    range_at(q, 0).offset.set(2000000);  // unsorted
    EXPECT_EQ(parse(q), ParseError::Order);
    q = p;
    range_at(q, 2).length.set(0);
    EXPECT_EQ(parse(q), ParseError::Order);
    q = p;
    range_at(q, 2).length.set(~u64{0});  // offset + length wraps
    EXPECT_EQ(parse(q), ParseError::Order);
    q = p;
    range_at(q, 2).offset.set(kMaxDiskBytes);
    range_at(q, 2).length.set(1);
    EXPECT_EQ(parse(q), ParseError::Order);
}

TEST(PolicyFormat, ActionsOutsideTheFourAreRefused) {
    auto p = make_policy(kTwo, 3);
    for (u8 a : {u8{0}, u8{5}, u8{0xFF}}) {
        auto q = p;
        range_at(q, 0).action = a;
        EXPECT_EQ(parse(q), ParseError::Field) << int(a);
    }
}

TEST(PolicyFormat, PathOffsetsMustPointAtAPathStartAndPathsBeTerminated) {
    auto p = make_policy(kTwo, 3);
    auto q = p;
    range_at(q, 0).path_offset.set(1);  // the middle of "/bin/ls"
    EXPECT_EQ(parse(q), ParseError::Path);
    q = p;
    range_at(q, 0).path_offset.set(header_of(q).path_bytes.get());
    EXPECT_EQ(parse(q), ParseError::Path);
    q = p;
    u64 const table = sizeof(PolicyHeader) + 3 * sizeof(PolicyRange);
    q[table + header_of(q).path_bytes.get() - 1] = 'x';  // the last path unterminated
    EXPECT_EQ(parse(q), ParseError::Path);
    q = p;
    q[table + 3] = '\n';  // a control character
    EXPECT_EQ(parse(q), ParseError::Path);
}

TEST(PolicyFormat, BuilderRefusesWhatTheParserWould) {
    Range overlapping[] = {{0, 10, Action::Protect, "/a"}, {5, 10, Action::Protect, "/b"}};
    EXPECT_TRUE(make_policy(overlapping, 2).empty());
    Range empty_path[] = {{0, 10, Action::Protect, ""}};
    EXPECT_TRUE(make_policy(empty_path, 1).empty());
    EXPECT_TRUE(make_policy(kTwo, 3, 1, "   ").empty());  // no serial
}
