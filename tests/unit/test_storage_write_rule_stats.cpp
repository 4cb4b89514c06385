// What `thinvisor-ctl policy` reads (storage/policy_stats): the policy in force and its hits,
// in total and by path, as device counters with fixed names.
#include <gtest/gtest.h>

#include <string.h>

#include <string>
#include <vector>

#include "storage/policy_stats.hpp"
#include "test_policy_keys.hpp"

using namespace tv;
using namespace tv::storage;
using policy::Action;
using policy::Range;

namespace {

struct Counter {
    std::string name;
    u64 value;
};

std::vector<Counter> all(PolicyStats const& s) {
    std::vector<Counter> out;
    char name[17];
    u64 v;
    for (u32 i = 0; s.counter(i, name, &v); ++i) out.push_back({name, v});
    return out;
}

u64 value_of(PolicyStats const& s, char const* name) {
    for (auto const& c : all(s))
        if (c.name == name) return c.value;
    ADD_FAILURE() << "no counter " << name;
    return ~0ull;
}

}  // namespace

TEST(StorageWriteRuleStats, TheCountersNameThePolicyInForceAndItsDisk) {
    Range const r[] = {{1000, 10, Action::Protect, "/bin/ls"}, {2000, 4, Action::Audit, "/var/log/messages"}};
    auto bytes = policy_test::make_policy(r, 2, 7, "QM00002", nullptr);
    policy::PolicyView v;
    ASSERT_EQ(policy::parse_policy(bytes.data(), bytes.size(), v), policy::ParseError::None);
    PolicyStats s;
    s.set_policy(&v, 0);
    auto const c = all(s);
    ASSERT_EQ(c.size(), PolicyStats::kCounters);
    EXPECT_EQ(value_of(s, "policy-version"), 7u);
    EXPECT_EQ(value_of(s, "policy-ranges"), 2u);
    EXPECT_EQ(value_of(s, "policy-bus"), 0u);
    EXPECT_EQ(value_of(s, "policy-paths"), PolicyStats::kPathSlots);
    char serial[25] = {};
    u64 const w[3] = {value_of(s, "policy-serial0"), value_of(s, "policy-serial1"), value_of(s, "policy-serial2")};
    memcpy(serial, w, 24);
    EXPECT_STREQ(serial, "QM00002");
    EXPECT_EQ(c[PolicyStats::kFixed + PolicyStats::kPathSlots - 1].name, "");  // no path hit yet: unnamed
}

TEST(StorageWriteRuleStats, HitsCountByVerdictAndByPathInTheOrderFirstHit) {
    PolicyStats s;
    DiskId const id{Bus::Ata, {}};
    std::string const long_path = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    s.record(RuleHit{&id, 1, Action::Protect, "/etc/app.conf", true});
    s.record(RuleHit{&id, 2, Action::Protect, "/bin/tool", true});
    s.record(RuleHit{&id, 3, Action::Protect, "/etc/app.conf", true});
    s.record(RuleHit{&id, 4, Action::Audit, "/var/log/app.log", false});
    s.record(RuleHit{&id, 5, Action::Discard, long_path.c_str(), false});
    EXPECT_EQ(value_of(s, "policy-refused"), 3u);
    EXPECT_EQ(value_of(s, "policy-audited"), 1u);
    EXPECT_EQ(value_of(s, "policy-discarded"), 1u);
    auto const c = all(s);
    std::vector<Counter> const slots(c.begin() + PolicyStats::kFixed, c.end());
    EXPECT_EQ(slots[0].name, "/etc/app.conf");
    EXPECT_EQ(slots[0].value, 2u);
    EXPECT_EQ(slots[1].name, "/bin/tool");
    EXPECT_EQ(slots[1].value, 1u);
    EXPECT_EQ(slots[2].name, "/var/log/app.log");
    EXPECT_EQ(slots[3].name, long_path.substr(long_path.size() - 16));  // its end: the file's name
    EXPECT_EQ(slots[4].name, "");
}

TEST(StorageWriteRuleStats, PathsBeyondTheSlotsCountInTheTotalsOnly) {
    PolicyStats s;
    DiskId const id{Bus::Ata, {}};
    std::vector<std::string> paths;
    for (u32 i = 0; i < PolicyStats::kPathSlots + 3; ++i) paths.push_back("/f" + std::to_string(i));
    for (auto const& p : paths) s.record(RuleHit{&id, 0, Action::Protect, p.c_str(), true});
    EXPECT_EQ(value_of(s, "policy-refused"), PolicyStats::kPathSlots + 3);
    auto const c = all(s);
    EXPECT_EQ(c.size(), PolicyStats::kCounters);
    EXPECT_EQ(c[PolicyStats::kFixed + PolicyStats::kPathSlots - 1].name,
              "/f" + std::to_string(PolicyStats::kPathSlots - 1));
}

// `thinvisor-ctl policy` shows where a fetched policy came from: the URL in eight words after
// the path slots, its first 64 characters.
TEST(StorageWriteRuleStats, TheUrlOfAFetchedPolicyIsInItsOwnCounters) {
    PolicyStats s;
    std::string const url = "https://policy.test:8443/fleet/" + std::string(60, 'x') + ".policy";
    s.set_url(url.c_str());
    s.policy_replaced(1);
    EXPECT_EQ(value_of(s, "policy-source"), 1u);
    char text[65] = {};
    for (u32 w = 0; w < PolicyStats::kUrlWords; ++w) {
        u64 const v = value_of(s, ("policy-url" + std::to_string(w)).c_str());
        memcpy(text + w * 8, &v, 8);
    }
    EXPECT_EQ(std::string(text), url.substr(0, 64));
    PolicyStats none;
    EXPECT_EQ(value_of(none, "policy-url0"), 0u);
}
