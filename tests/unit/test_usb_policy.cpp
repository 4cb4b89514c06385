// The USB device policy: [usb] parsed strictly (line numbers), and the rule a device gets.
#include <gtest/gtest.h>
#include <string.h>

#include <string>

#include "core/config.hpp"
#include "drivers/usb/usb_policy.hpp"

using namespace tv;
using namespace tv::usb;

namespace {

bool parse(std::string const& text, Config* cfg, ConfigError* err) { return config_parse(text.data(), text.size(), cfg, err); }

UsbIdentity stick(u16 vendor, u16 product, char const* serial) {
    UsbIdentity id{vendor, product, 3, 0, {}};
    strcpy(id.serial, serial);
    return id;
}

}  // namespace

TEST(UsbPolicyConfig, StorageAndDeviceLinesParse) {
    Config c{};
    ConfigError e{};
    ASSERT_TRUE(parse("[usb]\nstorage = encrypt\ndevice = 46f4:0001:TVRO read-only\ndevice = 046D:C52B deny\n", &c, &e))
        << e.message;
    EXPECT_TRUE(c.usb.present);
    EXPECT_EQ(c.usb.storage, UsbRule::Encrypt);
    ASSERT_EQ(c.usb.device_count, 2u);
    EXPECT_EQ(c.usb.devices[0].vendor, 0x46F4);
    EXPECT_STREQ(c.usb.devices[0].serial, "TVRO");
    EXPECT_EQ(c.usb.devices[0].rule, UsbRule::ReadOnly);
    EXPECT_EQ(c.usb.devices[1].product, 0xC52B);
    EXPECT_STREQ(c.usb.devices[1].serial, "");
}

TEST(UsbPolicyConfig, MistakesAreErrorsWithTheirLine) {
    Config c{};
    ConfigError e{};
    EXPECT_FALSE(parse("[usb]\nstorage = encrypted\n", &c, &e));
    EXPECT_EQ(e.line, 2u);
    EXPECT_FALSE(parse("[usb]\nstorage = allow\ndevice = 46f4-0001 allow\n", &c, &e));
    EXPECT_EQ(e.line, 3u);
    EXPECT_FALSE(parse("[usb]\ndevice = 46f4:0001:\n", &c, &e));
    EXPECT_EQ(e.line, 2u);
    EXPECT_FALSE(parse("[usb]\ndevice = 46f4:0001 sometimes\n", &c, &e));
    EXPECT_FALSE(parse("[usb]\nstorage = allow\nstorage = deny\n", &c, &e));
    EXPECT_EQ(e.line, 3u);
    EXPECT_FALSE(parse("[usb]\nkeyboard = allow\n", &c, &e));
    EXPECT_NE(std::string(e.message).find("unknown key"), std::string::npos);
}

TEST(UsbPolicyConfig, DiskEntriesCanNameAUsbStick) {
    Config c{};
    ConfigError e{};
    ASSERT_TRUE(parse("[disk.stick]\nbus = usb\nserial = TVUSB1\nkeyslots = stick.keys\n", &c, &e)) << e.message;
    EXPECT_EQ(c.disks[0].bus, DiskBus::Usb);
    EXPECT_FALSE(parse("[disk.stick]\nbus = usb\nkeyslots = stick.keys\n", &c, &e));  // a serial, or *
}

TEST(UsbPolicy, TheFirstMatchingDeviceLineWinsElseTheStorageRule) {
    Config c{};
    ConfigError e{};
    ASSERT_TRUE(parse("[usb]\nstorage = encrypt\ndevice = 46f4:0001:TVRO read-only\ndevice = 46f4:0001 allow\n", &c, &e));
    EXPECT_EQ(usb_rule_for(&c.usb, stick(0x46F4, 1, "TVRO"), true), UsbRule::ReadOnly);
    EXPECT_EQ(usb_rule_for(&c.usb, stick(0x46F4, 1, "OTHER"), true), UsbRule::Allow);
    EXPECT_EQ(usb_rule_for(&c.usb, stick(0x1234, 1, "TVRO"), true), UsbRule::Encrypt);
    // A serial line never matches a device whose serial the monitor did not read.
    EXPECT_EQ(usb_rule_for(&c.usb, stick(0x46F4, 1, "TVRO"), false), UsbRule::Allow);
}

TEST(UsbPolicy, WithoutUsbSectionEverythingIsAllowed) {
    EXPECT_EQ(usb_rule_for(nullptr, stick(1, 2, "X"), true), UsbRule::Allow);
}
