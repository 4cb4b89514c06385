// net/wall_time: the CMOS RTC decoded into the wall clock the policy fetch checks certificate
// validity against.
#include <gtest/gtest.h>

#include "net/wall_time.hpp"

using namespace tv;
using namespace tv::net;

TEST(NetWallTime, CivilDatesMatchKnownUnixTimes) {
    EXPECT_EQ(civil_to_unix(1970, 1, 1, 0, 0, 0), 0u);
    EXPECT_EQ(civil_to_unix(2000, 3, 1, 0, 0, 0), 951868800u);     // after a leap day of a century year
    EXPECT_EQ(civil_to_unix(2026, 12, 7, 11, 0, 0), 1796641200u);
    EXPECT_EQ(civil_to_unix(2038, 1, 19, 3, 14, 8), 2147483648u);  // past 2^31
}

TEST(NetWallTime, ReadsBcdAndBinaryRegistersIn24And12Hours) {
    u64 t = 0;
    // BCD, 24 h (status B bit 1), century register 0x20: 2026-12-07 11:00:00.
    ASSERT_TRUE(cmos_to_unix(CmosTime{0x00, 0x00, 0x11, 0x07, 0x12, 0x26, 0x20, 0x02}, &t));
    EXPECT_EQ(t, 1796641200u);
    // Binary (bit 2), 12 h with the PM bit: 11 PM.
    ASSERT_TRUE(cmos_to_unix(CmosTime{0, 0, 0x80 | 11, 7, 12, 26, 0, 0x04}, &t));
    EXPECT_EQ(t, 1796641200u + 12 * 3600);
    // 12 AM is midnight.
    ASSERT_TRUE(cmos_to_unix(CmosTime{0, 0, 12, 7, 12, 26, 0, 0x04}, &t));
    EXPECT_EQ(t, 1796641200u - 11 * 3600);
}

TEST(NetWallTime, RefusesRegistersNoClockHolds) {
    u64 t = 0;
    EXPECT_FALSE(cmos_to_unix(CmosTime{0x00, 0x00, 0x11, 0x07, 0x13, 0x26, 0x20, 0x02}, &t));  // month 13
    EXPECT_FALSE(cmos_to_unix(CmosTime{0x0A, 0x00, 0x11, 0x07, 0x12, 0x26, 0x20, 0x02}, &t));  // BCD digit A
    EXPECT_FALSE(cmos_to_unix(CmosTime{0, 0, 0, 7, 12, 26, 0, 0x04}, &t));                      // hour 0 in 12 h
    EXPECT_FALSE(cmos_to_unix(CmosTime{0, 0, 0, 0, 12, 26, 0, 0x06}, &t));                      // day 0
}

TEST(NetWallTime, CertificateDatesAgainstTheClock) {
    CivilTime const from{2026, 11, 30, 12, 0, 0}, to{2026, 12, 30, 12, 0, 0};
    u64 const now = civil_to_unix(2026, 12, 7, 11, 0, 0);
    EXPECT_EQ(check_validity(now, from, to), Validity::Valid);
    EXPECT_EQ(check_validity(civil_to_unix(2026, 11, 30, 11, 59, 59), from, to), Validity::NotYet);
    EXPECT_EQ(check_validity(civil_to_unix(2026, 12, 30, 12, 0, 1), from, to), Validity::Expired);
    EXPECT_EQ(check_validity(civil_to_unix(2026, 12, 30, 12, 0, 0), from, to), Validity::Valid);  // inclusive
}
