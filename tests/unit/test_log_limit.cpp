// core/log_limit: repeated refusals are logged a few times per device and cause, all counted,
// and the cut causes summarised.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/log_limit.hpp"

using namespace tv;

namespace {

std::vector<std::string> cuts(LogLimiter const& l) {
    std::vector<std::string> out;
    l.each_cut(
        [](LogLimiter::Cut const& c, void* arg) {
            static_cast<std::vector<std::string>*>(arg)->push_back(std::string(c.device) + "|" + c.cause + "|" +
                                                                   std::to_string(c.total));
        },
        &out);
    return out;
}

}  // namespace

TEST(LogLimit, TheFirstLinesOfACauseAreLoggedTheRestCountedAndSummarised) {
    static LogLimiter l;
    l = LogLimiter{};
    u32 logged = 0;
    for (int i = 0; i < 100; ++i) logged += l.note("ide-00:01.1-secondary.0", "refused WRITE(10)");
    EXPECT_EQ(logged, LogLimiter::kLinesPerCause);
    EXPECT_EQ(cuts(l), std::vector<std::string>{"ide-00:01.1-secondary.0|refused WRITE(10)|100"});
}

TEST(LogLimit, DevicesAndCausesAreLimitedSeparately) {
    static LogLimiter l;
    l = LogLimiter{};
    for (u32 i = 0; i < LogLimiter::kLinesPerCause; ++i) {
        EXPECT_TRUE(l.note("ide0.0", "refused A"));
        EXPECT_TRUE(l.note("ide0.1", "refused A"));
        EXPECT_TRUE(l.note("ide0.0", "refused B"));
    }
    EXPECT_FALSE(l.note("ide0.0", "refused A"));
    EXPECT_TRUE(l.note("nic", "refused A"));
    EXPECT_EQ(cuts(l), std::vector<std::string>{"ide0.0|refused A|5"});
}

TEST(LogLimit, NothingCutNoSummary) {
    static LogLimiter l;
    l = LogLimiter{};
    EXPECT_TRUE(l.note("ahci: port 0", "refused X"));
    EXPECT_TRUE(cuts(l).empty());
}

TEST(LogLimit, CausesBeyondTheTableShareOneLimitedBucket) {
    static LogLimiter l;
    l = LogLimiter{};
    for (u32 i = 0; i < LogLimiter::kCauses; ++i) EXPECT_TRUE(l.note("dev", std::to_string(i).c_str()));
    u32 logged = 0;
    for (u32 i = 0; i < 20; ++i) logged += l.note("dev", ("new " + std::to_string(i)).c_str());
    EXPECT_EQ(logged, LogLimiter::kLinesPerCause);
    EXPECT_EQ(l.overflow(), 20u);
    EXPECT_EQ(cuts(l).size(), 1u);
}

TEST(LogLimit, LongTextsAreComparedAsKept) {
    static LogLimiter l;
    l = LogLimiter{};
    std::string const long_cause(300, 'x');
    for (u32 i = 0; i < 10; ++i) (void)l.note(std::string(100, 'd').c_str(), long_cause.c_str());
    auto const c = cuts(l);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_NE(c[0].find("|10"), std::string::npos);
}
