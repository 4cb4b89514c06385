// The EHCI mediator's fail-closed rule (drivers/usb/ehci_policy.hpp): it takes a controller
// only when the configuration lets every USB device pass as it is.
#include <gtest/gtest.h>

#include <memory>

#include "drivers/usb/ehci_policy.hpp"

namespace tv::usb {
namespace {

TEST(EhciPolicy, NoConfigurationOrAllowLetsTheControllerBeMediated) {
    EXPECT_EQ(ehci_config_refusal(nullptr), nullptr);
    auto cfg = std::make_unique<Config>();
    EXPECT_EQ(ehci_config_refusal(cfg.get()), nullptr);
    cfg->usb.present = true;
    cfg->usb.storage = UsbRule::Allow;
    EXPECT_EQ(ehci_config_refusal(cfg.get()), nullptr);
}

TEST(EhciPolicy, RulesOrKeysThatNeedTheMassStoragePathLeaveTheControllerToTheBusMasterPolicy) {
    auto cfg = std::make_unique<Config>();
    cfg->usb.present = true;
    for (UsbRule r : {UsbRule::Encrypt, UsbRule::ReadOnly, UsbRule::Deny}) {
        cfg->usb.storage = r;
        EXPECT_NE(ehci_config_refusal(cfg.get()), nullptr);
    }
    cfg->usb.storage = UsbRule::Allow;
    cfg->usb.devices[0].rule = UsbRule::ReadOnly;
    cfg->usb.device_count = 1;
    EXPECT_NE(ehci_config_refusal(cfg.get()), nullptr);
    cfg->usb.device_count = 0;
    cfg->disks[0].bus = DiskBus::Ata;
    cfg->disk_count = 1;
    EXPECT_EQ(ehci_config_refusal(cfg.get()), nullptr);
    cfg->disks[1].bus = DiskBus::Usb;
    cfg->disk_count = 2;
    EXPECT_NE(ehci_config_refusal(cfg.get()), nullptr);
    cfg->disk_count = 1;
    cfg->policy.present = true;  // file protection may name sticks
    EXPECT_NE(ehci_config_refusal(cfg.get()), nullptr);
}

}  // namespace
}  // namespace tv::usb
