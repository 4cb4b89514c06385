// A USB device's identity from its descriptors: vendor, product, serial index and the serial
// string (printable ASCII or refused), parsed from the monitor's copies.
#include <gtest/gtest.h>
#include <string.h>

#include "drivers/usb/usb_identity.hpp"

using namespace tv;
using namespace tv::usb;

TEST(UsbIdentity, VendorProductAndSerialIndexComeFromTheDeviceDescriptor) {
    u8 const d[18] = {18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x27, 0x06, 0x01, 0x00, 0, 0, 1, 2, 3, 1};
    UsbIdentity id{};
    ASSERT_EQ(parse_device_descriptor(d, sizeof d, &id), nullptr);
    EXPECT_EQ(id.vendor, 0x0627);
    EXPECT_EQ(id.product, 0x0001);
    EXPECT_EQ(id.serial_index, 3);
    u8 bad[18];
    memcpy(bad, d, sizeof bad);
    bad[1] = 2;  // a configuration descriptor
    EXPECT_NE(parse_device_descriptor(bad, sizeof bad, &id), nullptr);
    EXPECT_NE(parse_device_descriptor(d, 17, &id), nullptr);
}

TEST(UsbIdentity, TheSerialIsPrintableAsciiOrRefused) {
    UsbIdentity id{};
    u8 const s[] = {20, 3, 'T', 0, 'V', 0, 'U', 0, 'S', 0, 'B', 0, '0', 0, '0', 0, '0', 0, '1', 0};
    ASSERT_EQ(parse_serial_string(s, sizeof s, &id), nullptr);
    EXPECT_STREQ(id.serial, "TVUSB0001");
    u8 const wide[] = {6, 3, 'A', 0, 0x00, 0x4E};  // a CJK character
    EXPECT_NE(parse_serial_string(wide, sizeof wide, &id), nullptr);
    EXPECT_STREQ(id.serial, "TVUSB0001");  // a refusal leaves the last good one alone
    u8 const longer[] = {20, 3, 'A', 0};  // claims more than the transfer brought
    EXPECT_NE(parse_serial_string(longer, sizeof longer, &id), nullptr);
    u8 const odd[] = {5, 3, 'A', 0, 'B'};
    EXPECT_NE(parse_serial_string(odd, sizeof odd, &id), nullptr);
    u8 huge[2 + 2 * 64]{};
    huge[0] = sizeof huge;
    huge[1] = 3;
    for (u32 i = 0; i < 64; ++i) huge[2 + 2 * i] = 'x';
    EXPECT_NE(parse_serial_string(huge, sizeof huge, &id), nullptr);
}
