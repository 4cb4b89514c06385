// EHCI's root ports as the guest sees them (drivers/usb/ehci_ports.cpp): a denied stick's port
// shown unplugged with a port-change interrupt, a port the monitor holds for itself.
#include "tests/unit/test_ehci_stick_rig.hpp"

namespace tv::usb::test {
namespace {

constexpr u32 kPower = 1u << 12;
constexpr u32 kIntr = kOpBase + op(EhciOp::UsbIntr);
constexpr u32 kLinuxIntr = 0x37;  // ehci-hcd's INTR_MASK: IAA, fatal, port change, error, completion
constexpr u32 portsc(u32 port) { return kOpBase + kOpPortSc + (port - 1) * 4; }

class EhciPorts : public EhciMassStorage {
  protected:
    void SetUp() override {
        f.hcsparams = 2;
        f.portsc[0] = kPower | kPscConnect | kPscConnectChange;  // the stick
        f.portsc[1] = kPower;
        EhciMassStorage::SetUp();
        c->write(kIntr, 4, kLinuxIntr);
    }
    // As Linux's hub driver brings a new device up on root port 1: the change acknowledged,
    // the port reset (the controller enables it: high speed), then addressed and configured.
    void plug_in_on_port_1() {
        c->write(portsc(1), 4, kPower | kPscConnectChange);
        c->write(portsc(1), 4, kPower | kPscReset);
        c->write(portsc(1), 4, kPower);
        f.portsc[0] |= kPscEnabled;
        set_address();
        enumerate();
    }
};

TEST_F(EhciPorts, ADeniedStickIsShownUnpluggedWithAPortChangeInterruptFromItsFirstCommand) {
    f.rule = UsbRule::Deny;
    enroll("TVEHCI1");
    plug_in_on_port_1();
    EXPECT_EQ(c->read(portsc(1), 4) & (kPscConnect | kPscEnabled), kPscConnect | kPscEnabled);
    EXPECT_EQ(command(1, {0x12, 0, 0, 0, 36, 0}, true, 36).status, 0);  // INQUIRY passes, and tells the policy
    EXPECT_TRUE(noted("a denied device's port is shown disconnected to the guest"));
    u32 const shown = c->read(portsc(1), 4);
    EXPECT_EQ(shown & (kPscConnect | kPscEnabled | kPscLineStatus), 0u);
    EXPECT_TRUE(shown & kPscConnectChange);
    EXPECT_TRUE(shown & kPower);
    EXPECT_EQ(f.portsc[0] & (kPscConnect | kPscEnabled), kPscConnect);  // the real port disabled: the stick answers nothing
    // The controller's next frame list rollover interrupts; the guest finds the port change.
    EXPECT_EQ(f.intr, kLinuxIntr | kStsFlr);
    EXPECT_EQ(c->read(kIntr, 4), kLinuxIntr);
    f.sts = 0;  // the guest handled its completions
    EXPECT_FALSE(f.irq());
    f.sts |= kStsFlr;
    EXPECT_TRUE(f.irq());
    u32 const sts = c->read(kSts, 4);
    EXPECT_TRUE(sts & kStsPcd);
    c->write(kSts, 4, sts & (kLinuxIntr | kStsFlr));  // ehci_irq's acknowledgement
    EXPECT_FALSE(f.irq());
    EXPECT_EQ(f.intr, kLinuxIntr);
    EXPECT_FALSE(c->read(kSts, 4) & kStsPcd);
    // The hub driver acknowledges the change and tries the port again: nothing reaches it.
    c->write(portsc(1), 4, kPower | kPscConnectChange);
    c->write(portsc(1), 4, kPower | kPscReset);
    EXPECT_EQ(c->read(portsc(1), 4) & (kPscConnect | kPscConnectChange | kPscEnabled | kPscReset), 0u);
    EXPECT_EQ(f.portsc[0] & (kPscReset | kPscEnabled), 0u);
}

TEST_F(EhciPorts, ADeniedStickThatLeftItsPortLeavesThePortToTheGuest) {
    f.rule = UsbRule::Deny;
    enroll("TVEHCI1");
    plug_in_on_port_1();
    capacity_refused();
    ASSERT_TRUE(c->port_hidden(1));
    f.portsc[0] = kPower | kPscConnectChange;  // unplugged
    EXPECT_EQ(c->read(portsc(1), 4), kPower | kPscConnectChange);
    EXPECT_FALSE(c->port_hidden(1));
}

TEST_F(EhciPorts, AnAllowedStickKeepsItsPort) {
    enroll("TVEHCI1");
    plug_in_on_port_1();
    capacity();
    EXPECT_FALSE(c->port_hidden(1));
    EXPECT_EQ(c->read(portsc(1), 4) & (kPscConnect | kPscEnabled), kPscConnect | kPscEnabled);
    EXPECT_FALSE(c->read(kSts, 4) & kStsPcd);
    EXPECT_EQ(f.intr, kLinuxIntr);
}

TEST_F(EhciPorts, ADeniedStickBehindAHubDoesNotHideTheRootPort) {
    f.rule = UsbRule::Deny;
    enroll("TVEHCI1");
    c->write(portsc(1), 4, kPower | kPscReset);
    c->write(portsc(1), 4, kPower);
    f.portsc[0] |= kPscEnabled;
    control_out(0x0000000100040323);  // the hub's SET_FEATURE(PORT_RESET) of its port 1
    set_address();
    enumerate();
    capacity_refused();
    EXPECT_FALSE(c->port_hidden(1));
    EXPECT_EQ(f.portsc[0] & kPscEnabled, kPscEnabled);
}

TEST_F(EhciPorts, APortTheMonitorHoldsIsEmptyForTheGuestAcrossAControllerReset) {
    f.portsc[1] = kPower | kPscConnect | kPscEnabled;  // the monitor's own device, enumerated by it
    ASSERT_TRUE(c->hold_port(2));
    EXPECT_FALSE(c->hold_port(3));  // the controller has two ports
    EXPECT_EQ(c->read(portsc(2), 4) & (kPscConnect | kPscEnabled), 0u);
    EXPECT_TRUE(c->read(kSts, 4) & kStsPcd);
    c->write(portsc(2), 4, kPower | kPscReset);
    EXPECT_EQ(f.portsc[1], kPower | kPscConnect | kPscEnabled);  // left enabled for the monitor, never reset
    c->write(kCmd, 4, kCmdReset);
    EXPECT_TRUE(c->port_hidden(2));
    EXPECT_EQ(c->read(portsc(2), 4) & (kPscConnect | kPscEnabled | kPscConnectChange), 0u);
}

TEST_F(EhciPorts, APortRegisterTakesOnlyAlignedDwords) {
    c->write(portsc(1) + 1, 1, 1);  // PR through a byte would escape the port's reset
    EXPECT_TRUE(refused_with("PORTSC: not an aligned 32-bit access"));
    EXPECT_EQ(c->read(portsc(1), 2), 0u);
    EXPECT_EQ(f.portsc[0] & kPscReset, 0u);
}

}  // namespace
}  // namespace tv::usb::test
