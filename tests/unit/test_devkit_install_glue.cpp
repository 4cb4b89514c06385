// The e1000 mediator's monitor glue (drivers/nic/e1000_install.cpp) and the MMIO pass-through
// test driver (drivers/pci/passthrough_test.cpp), host-tested against fakes of the monitor's
// registries (tests/unit/mocks/): attached through the PCI driver registry in the monitor's
// order, they claim what they should, hook and pin the right registers, and leave the rest.
//
// The glue keeps its state in globals, as in the monitor, so the machine is attached once for
// the whole suite and each test checks one part of the outcome.
#include <gtest/gtest.h>

#include "core/device/pci_registry.hpp"
#include "drivers/nic/e1000_regs.hpp"
#include "drivers/nic/frame_port.hpp"
#include "drivers/nic/nic_mediator.hpp"
#include "drivers/pci/passthrough_test.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "tests/unit/mocks/monitor_registries.hpp"

using namespace tv;
using namespace tv::pci;
using tv::mocks::registries;

namespace {

constexpr u16 kRegIoBar = 0x14;

// An e1000 at 00:dev.0: BAR0 its registers, BAR1 its 64 I/O ports (IOADDR/IODATA).
Function e1000_at(u8 dev, u64 mem, u16 io) {
    Function f{};
    f.bdf = Bdf{0, dev, 0};
    f.vendor = 0x8086;
    f.device = 0x100E;
    f.class_code = 0x02;
    f.bar_count = 6;
    f.bars[0] = Bar{BarKind::Mem32, false, mem, nic::e1000::kBarSize, 0x10};
    f.bars[1] = Bar{BarKind::Io, false, io, 0x40, kRegIoBar};
    return f;
}

Function const kA = e1000_at(3, 0xFEB80000, 0xC000);  // the pass-through test takes this one
Function const kB = e1000_at(4, 0xFEBA0000, 0xC040);  // the mediator this one
Function const kC = e1000_at(5, 0xFEBC0000, 0xC080);  // nobody: the monitor has one link

class InstallGlue : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        if (attached) return;  // run again (--gtest_repeat): the glue attaches once per process
        attached = true;
        mocks::Registries& r = registries();
        r.cmdline = "mmio_passthrough_test=e1000";
        r.conf_loaded = true;
        r.conf.network.present = true;
        r.conf.network.mac = MacAddr{{0x52, 0x54, 0x00, 0x12, 0x34, 0x99}};
        for (Function const& f : fns) {
            r.write_config(f.bdf, kRegCommand, 0x0003);  // I/O and memory decoding, no bus master
            r.write_config(f.bdf, kRegIoBar, static_cast<u32>(f.bars[1].base) | 1u);
        }
        ASSERT_TRUE(ok(reg.add(&kPassthroughTestDriver)));
        ASSERT_TRUE(ok(reg.add(&nic::kE1000Driver)));
        char const* failed = nullptr;
        status = reg.attach_all(fns, 3, &failed);
    }

    static mocks::FollowRec const* follow_of(Bdf b) {
        for (auto const& f : registries().follows)
            if (f.bdf == b) return &f;
        return nullptr;
    }

    static inline Function const fns[3] = {kA, kB, kC};
    static inline PciRegistry reg;
    static inline Status status = Status::Invalid;
    static inline bool attached = false;
    test::FakeVcpu v;
};

TEST_F(InstallGlue, AttachesWithoutError) { EXPECT_EQ(status, Status::Ok); }

TEST_F(InstallGlue, PassThroughTestTakesTheFirstE1000Whole) {
    EXPECT_EQ(reg.owner(kA.bdf, kAllParts), &kPassthroughTestDriver);
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kA.bars[0].base});
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->name, "e1000-bar0");
    ASSERT_NE(follow_of(kA.bdf), nullptr);
    EXPECT_EQ(follow_of(kA.bdf)->bar, 0);
    EXPECT_EQ(registries().io_at(static_cast<u16>(kA.bars[1].base)), nullptr);  // no mediator behind it
}

TEST_F(InstallGlue, MediatorTakesTheNextE1000AndNoOther) {
    EXPECT_EQ(reg.owner(kB.bdf, kAllParts), &nic::kE1000Driver);
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kB.bars[0].base + 0x3800});
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->name, "e1000-mediator");
    EXPECT_EQ(h->size, nic::e1000::kBarSize);
    ASSERT_NE(follow_of(kB.bdf), nullptr);
    EXPECT_EQ(follow_of(kB.bdf)->bar, 0);
    EXPECT_EQ(reg.owner(kC.bdf, kAllParts), nullptr);
    EXPECT_EQ(registries().mmio_at(Gpa{kC.bars[0].base}), nullptr);
    EXPECT_EQ(registries().io_at(static_cast<u16>(kC.bars[1].base)), nullptr);
    EXPECT_NE(nic::monitor_port(), nullptr);
}

TEST_F(InstallGlue, IoBarIsRoutedThroughTheMediatorAndPinned) {
    mocks::IoHookRec const* io = registries().io_at(static_cast<u16>(kB.bars[1].base + 4));
    ASSERT_NE(io, nullptr);
    EXPECT_EQ(io->first, kB.bars[1].base);
    EXPECT_EQ(io->count, kB.bars[1].size);
    mocks::ConfigHookRec const* pin = registries().config_at(kB.bdf, kRegIoBar);
    ASSERT_NE(pin, nullptr);
    u32 moved = 0xD001;  // the guest moves the I/O BAR away from the hook
    EXPECT_EQ(pin->fn(pin->ctx, v, kB.bdf, kRegIoBar, 4, true, &moved), ConfigAction::Handled);
    EXPECT_EQ(registries().read_config(kB.bdf, kRegIoBar), (kB.bars[1].base | 1u));  // the device never saw it
    u32 ones = 0xFFFFFFFF, size = 0;  // sizing is answered without touching the device
    EXPECT_EQ(pin->fn(pin->ctx, v, kB.bdf, kRegIoBar, 4, true, &ones), ConfigAction::Handled);
    EXPECT_EQ(pin->fn(pin->ctx, v, kB.bdf, kRegIoBar, 4, false, &size), ConfigAction::Handled);
    EXPECT_EQ(size, 0xFFFFFFC1u);
}

// Every route to the mediated e1000's registers (BAR0, the I/O BAR, its configuration
// registers) is registered with the same Device, so each runs under the one lock.
TEST_F(InstallGlue, EveryHookOfTheMediatedE1000NamesOneDevice) {
    mocks::MmioHookRec const* bar0 = registries().mmio_at(Gpa{kB.bars[0].base});
    mocks::IoHookRec const* io = registries().io_at(static_cast<u16>(kB.bars[1].base));
    mocks::ConfigHookRec const* pin = registries().config_at(kB.bdf, kRegIoBar);
    mocks::ConfigHookRec const* cmd = registries().config_at(kB.bdf, kRegCommand);
    ASSERT_TRUE(bar0 && io && pin && cmd);
    ASSERT_NE(bar0->device, nullptr);
    EXPECT_EQ(io->device, bar0->device);
    EXPECT_EQ(pin->device, bar0->device);
    EXPECT_EQ(cmd->device, bar0->device);
}

TEST_F(InstallGlue, BusMasteringIsOnAndStaysOn) {
    EXPECT_TRUE(registries().read_config(kB.bdf, kRegCommand) & 4u);  // set at install for the monitor's traffic
    EXPECT_EQ(registries().read_config(kC.bdf, kRegCommand) & 4u, 0u);  // not on a device it left alone
    mocks::ConfigHookRec const* cmd = registries().config_at(kB.bdf, kRegCommand);
    ASSERT_NE(cmd, nullptr);
    u32 value = 0x0003;  // the guest turns bus mastering off
    EXPECT_EQ(cmd->fn(cmd->ctx, v, kB.bdf, kRegCommand, 2, true, &value), ConfigAction::PassThrough);
    EXPECT_TRUE(value & 4u);
}

// The network stack's poll and send reach the e1000's rings outside any guest exit; they must
// take the device's own lock, the one its hooks run under, so no register access of the
// device happens under another lock (issue 11: "any register of a device, by any route").
TEST_F(InstallGlue, MonitorSendAndPollRunUnderTheDeviceLock) {
    nic::FramePort* port = nic::monitor_port();
    ASSERT_NE(port, nullptr);
    u32 const before = registries().device_accesses;
    u32 const unlocked_before = registries().device_accesses_unlocked;  // set-up, before the guest runs
    u8 frame[60] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x52, 0x54, 0x00, 0x12, 0x34, 0x99, 0x88, 0xB5};
    (void)port->send(frame, sizeof frame);
    port->poll();
    EXPECT_GT(registries().device_accesses, before);  // the path did reach the device
    EXPECT_EQ(registries().device_accesses_unlocked, unlocked_before);
}

}  // namespace

