// The xHCI mediator's monitor glue (drivers/usb/xhci_install.cpp), host-tested against fakes of
// the monitor's registries (tests/unit/mocks/): what it claims, which BAR it hooks under which
// device and follows, that it resets the controller at takeover under the device's lock, that
// a guest's MSI-X entry in BAR0 cannot ask for INIT, and that an install without monitor
// memory fails instead of leaving the controller half mediated.
//
// The glue keeps its controllers in globals, as in the monitor (room for two): the tests share
// one attached controller, and the out-of-memory test uses the second.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/device/pci_registry.hpp"
#include "drivers/usb/host/kept_reader.hpp"
#include "drivers/usb/xhci_mediator.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "tests/unit/mocks/monitor_registries.hpp"

// The mocks have no clock; the takeover's waits need none. Weak: a mock's own wins.
__attribute__((weak)) void tv::clock_delay_us(u64) {}

using namespace tv;
using namespace tv::pci;
using tv::mocks::registries;

namespace {

constexpr u64 kBar0Size = 0x4000;
constexpr u16 kMsixCap = 0x40;

// A qemu-xhci at 0x31:dev.0: BAR0 at bar0, capability registers as QEMU has them, and an
// MSI-X capability whose table is at 0x3000 in BAR0.
Function xhci_at(u8 dev, u64 bar0) {
    Function f{};
    f.bdf = Bdf{0x31, dev, 0};
    f.vendor = 0x1b36;
    f.device = 0x000d;
    f.class_code = 0x0C;
    f.subclass = 0x03;
    f.prog_if = 0x30;
    f.bar_count = 6;
    f.bars[0] = Bar{BarKind::Mem64, false, bar0, kBar0Size, 0x10};
    auto& r = registries();
    r.device_regs[bar0 + 0x00] = 0x01000040;  // CAPLENGTH 0x40, HCIVERSION 1.0
    r.device_regs[bar0 + 0x04] = 8u << 24 | 16u << 8 | 64;
    r.device_regs[bar0 + 0x10] = 0x00080001;
    r.device_regs[bar0 + 0x14] = 0x2000;  // DBOFF
    r.device_regs[bar0 + 0x18] = 0x1000;  // RTSOFF
    r.write_config(f.bdf, 0x04, 0x00100000);  // status: capability list
    r.write_config(f.bdf, 0x34, kMsixCap);
    r.write_config(f.bdf, kMsixCap, 0x000F0011);  // MSI-X, 16 entries, last capability
    r.write_config(f.bdf, kMsixCap + 4, 0x3000);  // table at 0x3000 in BAR0
    return f;
}

struct Attached {
    PciRegistry reg;
    Status status{Status::Invalid};
    char const* failed{nullptr};
    u32 unlocked{0};  // device accesses the attach made without the device's lock
    explicit Attached(Function const* fns, size_t n) {
        if (!ok(reg.add(&usb::kXhciDriver))) return;
        u32 const before = registries().device_accesses_unlocked;
        status = reg.attach_all(fns, n, &failed);
        unlocked = registries().device_accesses_unlocked - before;
    }
};

Function const kFirst[] = {xhci_at(1, 0xF8200000)};
// The first controller is the one the boot-time card unlock found the reader on, behind a hub
// on root port 2, under [card] reader = hide.
constexpr u8 kKeptPort = 2;
Attached& first() {
    static bool const kept = (usb::host::keep_reader_port(kFirst[0].bdf, kKeptPort, true), true);
    static Attached a{kFirst, 1};
    (void)kept;
    return a;
}

}  // namespace

TEST(XhciInstallGlue, ClaimsTheFunctionAndHooksBar0UnderItsDeviceFollowingMoves) {
    Attached& a = first();
    ASSERT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.reg.owner(kFirst[0].bdf, kAllParts), &usb::kXhciDriver);
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kFirst[0].bars[0].base + 0x2000});
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->name, "xhci-mediator");
    EXPECT_EQ(h->base, Gpa{kFirst[0].bars[0].base});
    EXPECT_EQ(h->size, kBar0Size);
    ASSERT_NE(h->device, nullptr);
    EXPECT_STREQ(h->device->name(), "xhci");
    bool followed = false;
    for (auto const& f : registries().follows)
        followed |= f.bdf == kFirst[0].bdf && f.bar == 0 && registries().mmio_at(mmio_hook_base(f.hook)) == h;
    EXPECT_TRUE(followed);
    EXPECT_TRUE(registries().logged("xhci 31:01.0: mediated (0 scratchpads, MSI-X table in BAR0, guarded)"));
}

TEST(XhciInstallGlue, TakeOverResetsTheControllerUnderItsLock) {
    EXPECT_EQ(first().unlocked, 0u);
    EXPECT_EQ(registries().device_regs[kFirst[0].bars[0].base + 0x40], 2u);  // USBCMD.HCRST
    // The fake never clears HCRST: the controller is kept, mediated and dead, and that is said.
    EXPECT_TRUE(registries().logged("did not come back from reset"));
}

TEST(XhciInstallGlue, TheGuestSeesOneInterrupterAndItsDoorbellsAreMediated) {
    first();
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kFirst[0].bars[0].base});
    ASSERT_NE(h, nullptr);
    test::FakeVcpu v;
    u64 p1 = 0;
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{kFirst[0].bars[0].base + 4}, 4, false, &p1), MmioAction::Handled);
    EXPECT_EQ((p1 >> 8) & 0x7FF, 1u);
    EXPECT_EQ(p1 & 0xFF, 16u);
    u64 db = 0;
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{kFirst[0].bars[0].base + 0x2000}, 4, true, &db), MmioAction::Handled);
    EXPECT_TRUE(registries().logged("xhci 31:01.0: refused command doorbell: no command ring programmed"));
    EXPECT_EQ(registries().device_regs.count(kFirst[0].bars[0].base + 0x2000), 0u);  // never rung
}

TEST(XhciInstallGlue, AnMsixEntryAskingForInitIsWrittenAsFixed) {
    first();
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kFirst[0].bars[0].base});
    ASSERT_NE(h, nullptr);
    test::FakeVcpu v;
    u64 const data = kFirst[0].bars[0].base + 0x3000 + 16 + 8;  // entry 1's data
    u64 init = 5u << 8 | 0x30;
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{data}, 4, true, &init), MmioAction::Handled);
    EXPECT_EQ(registries().device_regs[data], 0x30u);
    EXPECT_TRUE(registries().logged("refused MSI-X entry"));
}

TEST(XhciInstallGlue, WithoutMonitorMemoryTheAttachFails) {
    first();
    static Function const second[] = {xhci_at(2, 0xF8300000)};
    registries().out_of_pages = true;
    Attached a{second, 1};
    registries().out_of_pages = false;
    EXPECT_EQ(a.status, Status::NoMemory);
    EXPECT_STREQ(a.failed, "xhci");
}

// [card] reader = hide: the port the card unlock recorded is hidden from the takeover on;
// the other ports read as they are.
TEST(XhciInstallGlue, TheCardReadersRootPortIsHiddenFromTheTakeOver) {
    first();
    EXPECT_TRUE(registries().logged("xhci 31:01.0: root port 2 (the card reader behind a hub) is the monitor's"));
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kFirst[0].bars[0].base});
    ASSERT_NE(h, nullptr);
    u64 const portsc = kFirst[0].bars[0].base + 0x40 + 0x400;  // operational registers at CAPLENGTH 0x40
    constexpr u32 kConnectedPowered = 1u << 0 | 1u << 9 | 1u << 17;
    registries().device_regs[portsc + 0x10 * (kKeptPort - 1)] = kConnectedPowered;
    registries().device_regs[portsc] = kConnectedPowered;
    test::FakeVcpu v;
    u64 kept = 0, other = 0;
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{portsc + 0x10 * (kKeptPort - 1)}, 4, false, &kept), MmioAction::Handled);
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{portsc}, 4, false, &other), MmioAction::Handled);
    EXPECT_EQ(kept & (1u << 0 | 1u << 17), 0u) << "the guest sees the reader's port connected";
    EXPECT_EQ(other, kConnectedPowered);
}
