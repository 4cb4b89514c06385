// The boot prompt understands the keyboard as the BIOS leaves it (scancode set 1).
#include <gtest/gtest.h>

#include <string>

#include "core/scancode.hpp"

using tv::ScancodeDecoder;
using tv::u8;

namespace {
std::string type(std::initializer_list<u8> codes) {
    ScancodeDecoder d;
    std::string s;
    for (u8 c : codes)
        if (char ch = d.feed(c)) s += ch;
    return s;
}
}  // namespace

TEST(Scancode, LettersDigitsAndEnter) {
    EXPECT_EQ(type({0x14, 0x94, 0x12, 0x92, 0x1F, 0x9F, 0x14, 0x94, 0x02, 0x82, 0x1C, 0x9C}), "test1\n");
}

TEST(Scancode, ShiftGivesUpperCaseAndSymbolsUntilReleased) {
    EXPECT_EQ(type({0x2A, 0x1E, 0x9E, 0x02, 0x82, 0xAA, 0x1E, 0x9E}), "A!a");
    EXPECT_EQ(type({0x36, 0x0C, 0xB6, 0x0C}), "_-");
}

TEST(Scancode, ReleasesAndExtendedKeysTypeNothing) {
    EXPECT_EQ(type({0x9E, 0xE0, 0x48, 0xE0, 0xC8}), "");  // a release, arrow up
    EXPECT_EQ(type({0xE0, 0x1C}), "\n");                   // keypad Enter
    EXPECT_EQ(type({0xE0, 0x2A, 0x1E}), "a");              // fake shift from E0 2A is not a shift
}

TEST(Scancode, BackspaceAndUnknownCodes) {
    EXPECT_EQ(type({0x0E}), "\b");
    EXPECT_EQ(type({0x3B, 0x58, 0x7F}), "");  // F1, F12, out of table
}
