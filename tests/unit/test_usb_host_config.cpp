// The CCID interface in a configuration descriptor (drivers/usb/host/usb_config.*).
#include <gtest/gtest.h>

#include <vector>

#include "drivers/usb/host/usb_config.hpp"

using namespace tv;
using namespace tv::usb::host;

namespace {

using Bytes = std::vector<u8>;

// QEMU's usb-ccid: one interface (class 0B) with the CCID descriptor and three endpoints.
Bytes qemu_ccid_config() {
    Bytes d = {9, 2, 0, 0, 1, 1, 0, 0xe0, 50,
               9, 4, 0, 0, 3, 0x0b, 0, 0, 4};
    Bytes ccid(54, 0);
    ccid[0] = 54;
    ccid[1] = 0x21;
    d.insert(d.end(), ccid.begin(), ccid.end());
    d.insert(d.end(), {7, 5, 0x81, 3, 64, 0, 255, 7, 5, 0x82, 2, 64, 0, 0, 7, 5, 0x03, 2, 64, 0, 0});
    d[2] = static_cast<u8>(d.size());
    d[3] = static_cast<u8>(d.size() >> 8);
    return d;
}

}  // namespace

TEST(UsbHostConfig, FindsQemusCcidInterface) {
    Bytes const d = qemu_ccid_config();
    CcidInterface c;
    ASSERT_EQ(find_ccid_interface(d.data(), static_cast<u32>(d.size()), c), nullptr);
    EXPECT_EQ(c.config_value, 1);
    EXPECT_EQ(c.bulk_in, 0x82);
    EXPECT_EQ(c.bulk_out, 0x03);
    EXPECT_EQ(c.in_packet, 64);
    ASSERT_NE(c.class_desc, nullptr);
    EXPECT_EQ(c.class_len, 54u);
}

TEST(UsbHostConfig, RefusesOtherDevicesAndBrokenDescriptors) {
    Bytes d = qemu_ccid_config();
    CcidInterface c;
    d[9 + 5] = 0x08;  // mass storage
    EXPECT_NE(find_ccid_interface(d.data(), static_cast<u32>(d.size()), c), nullptr);
    d = qemu_ccid_config();
    EXPECT_NE(find_ccid_interface(d.data(), static_cast<u32>(d.size()) - 1, c), nullptr) << "cut short";
    d[18] = 0;  // a zero-length descriptor
    EXPECT_NE(find_ccid_interface(d.data(), static_cast<u32>(d.size()), c), nullptr);
    d = qemu_ccid_config();
    d[18] = 200;  // a descriptor running past the end
    EXPECT_NE(find_ccid_interface(d.data(), static_cast<u32>(d.size()), c), nullptr);
    d = qemu_ccid_config();
    d.erase(d.end() - 7, d.end());  // no bulk OUT
    d[2] = static_cast<u8>(d.size());
    EXPECT_NE(find_ccid_interface(d.data(), static_cast<u32>(d.size()), c), nullptr);
}
