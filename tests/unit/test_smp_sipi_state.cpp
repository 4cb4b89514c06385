#include "core/sipi_state.hpp"

#include <gtest/gtest.h>

using namespace tv;

TEST(SmpSipiState, ApWaitsUntilInitSipi) {
    SipiState s = SipiState::waiting();
    u8 vec = 0;
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Wait);
    s.init();
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Wait);
    EXPECT_TRUE(s.sipi(0x9A));
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::StartAt);
    EXPECT_EQ(vec, 0x9A);
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Run);
}

TEST(SmpSipiState, SecondSipiIsIgnored) {
    SipiState s = SipiState::waiting();
    u8 vec = 0;
    EXPECT_TRUE(s.sipi(0x10));
    EXPECT_FALSE(s.sipi(0x20));  // latched, not consumed yet
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::StartAt);
    EXPECT_EQ(vec, 0x10);
    EXPECT_FALSE(s.sipi(0x30));  // running now
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Run);
}

TEST(SmpSipiState, RunningCpuIgnoresSipiAndStopsOnInit) {
    SipiState s = SipiState::running();
    u8 vec = 0;
    EXPECT_FALSE(s.sipi(0x10));
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Run);
    s.init();
    EXPECT_TRUE(s.is_waiting());
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Wait);
    EXPECT_TRUE(s.sipi(0x08));
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::StartAt);
    EXPECT_EQ(vec, 0x08);
}

TEST(SmpSipiState, InitDropsALatchedSipi) {
    SipiState s = SipiState::waiting();
    u8 vec = 0;
    EXPECT_TRUE(s.sipi(0x10));
    s.init();
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::Wait);
    EXPECT_TRUE(s.sipi(0x11));
    EXPECT_EQ(s.before_entry(&vec), SipiState::Step::StartAt);
    EXPECT_EQ(vec, 0x11);
}
