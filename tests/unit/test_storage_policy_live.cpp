// A live policy update (storage/write_rule replace_policy_in_force, docs/policies.md,
// "Distribution"): a volume attached under version 3 is judged by version 4's ranges as soon
// as it replaces 3, without a new attach; an older version or another disk's policy changes
// nothing.
#include <gtest/gtest.h>

#include <string.h>

#include <vector>

#include "storage/key_table.hpp"
#include "storage/policy_stats.hpp"
#include "storage/volume.hpp"
#include "storage/write_rule.hpp"
#include "test_policy_keys.hpp"

using namespace tv;
using namespace tv::storage;
using policy::Action;
using policy::Range;

namespace {

constexpr u32 kSector = 512;

struct Policy {
    std::vector<u8> bytes;
    policy::PolicyView view;
    Policy(std::vector<Range> const& ranges, u64 version, char const* serial = "QM00001") {
        bytes = policy_test::make_policy(ranges.data(), static_cast<u32>(ranges.size()), version, serial, nullptr);
        EXPECT_EQ(policy::parse_policy(bytes.data(), bytes.size(), view), policy::ParseError::None);
    }
};

DiskId disk(char const* s) {
    DiskId d{Bus::Ata, {}};
    EXPECT_EQ(crypto::make_serial(s, strlen(s), d.serial), Status::Ok);
    return d;
}

std::vector<u8> sector(u8 fill) { return std::vector<u8>(kSector, fill); }

int g_also_calls;
void also(void* ctx) {
    ++g_also_calls;
    static_cast<PolicyStats*>(ctx)->policy_replaced(1);
}

struct LivePolicy : ::testing::Test {
    Policy v3{{{0, 512, Action::Protect, "/bin/tool"}}, 3};
    policy::PolicyView in_force = v3.view;  // the loader's view object: volumes point at it
    Volume vol;
    void SetUp() override {
        ASSERT_EQ(set_keys(nullptr, 0, false), Status::Ok);
        set_policy_in_force(&in_force);
        ASSERT_EQ(vol.attach(disk("QM00001"), kSector), Status::Ok);
        g_also_calls = 0;
    }
    void TearDown() override {
        vol.detach();
        set_policy_in_force(nullptr);
    }
    Status write(u64 lba) {
        auto d = sector(0xAA);
        auto const cur = sector(0x55);
        return vol.check_write(crypto::Lba{lba}, d.data(), 1, cur.data());
    }
};

}  // namespace

TEST_F(LivePolicy, ANewerPolicyProtectsItsNewFileWithoutANewAttach) {
    EXPECT_EQ(write(8), Status::Ok);  // sector 8: no rule in version 3
    Policy v4({{0, 512, Action::Protect, "/bin/tool"}, {4096, 512, Action::Protect, "/etc/new.conf"}}, 4);
    PolicyStats stats;
    stats.set_policy(&in_force, 0);
    ASSERT_TRUE(replace_policy_in_force(v4.view, also, &stats));
    EXPECT_EQ(g_also_calls, 1);
    EXPECT_EQ(policy_in_force()->version, 4u);
    EXPECT_TRUE(vol.write_touches_rules(crypto::Lba{8}, 1));
    EXPECT_EQ(write(8), Status::Refused);
    EXPECT_EQ(write(0), Status::Refused);
    EXPECT_EQ(write(9), Status::Ok);
    char name[17];
    u64 value = 0;
    ASSERT_TRUE(stats.counter(3, name, &value));
    EXPECT_STREQ(name, "policy-source");
    EXPECT_EQ(value, 1u);
}

TEST_F(LivePolicy, AnOlderOrEqualVersionIsRefusedAndChangesNothing) {
    Policy v2({{4096, 512, Action::Protect, "/etc/new.conf"}}, 2);
    Policy v3b({{4096, 512, Action::Protect, "/etc/new.conf"}}, 3);
    EXPECT_FALSE(replace_policy_in_force(v2.view, also, nullptr));
    EXPECT_FALSE(replace_policy_in_force(v3b.view, also, nullptr));
    EXPECT_EQ(g_also_calls, 0);
    EXPECT_EQ(policy_in_force()->version, 3u);
    EXPECT_EQ(write(8), Status::Ok);
    EXPECT_EQ(write(0), Status::Refused);
}

TEST_F(LivePolicy, AnotherDisksPolicyIsRefused) {
    Policy other({{4096, 512, Action::Protect, "/etc/new.conf"}}, 9, "QM00002");
    EXPECT_FALSE(replace_policy_in_force(other.view, also, nullptr));
    EXPECT_EQ(policy_in_force()->version, 3u);
    EXPECT_EQ(write(8), Status::Ok);
}

TEST(LivePolicyNone, NothingInForceNothingReplaced) {
    Policy v4({{0, 512, Action::Protect, "/bin/tool"}}, 4);
    set_policy_in_force(nullptr);
    EXPECT_FALSE(replace_policy_in_force(v4.view, nullptr, nullptr));
}
