// The EHCI mediator's monitor glue (drivers/usb/ehci_install.cpp), host-tested against fakes of
// the monitor's registries (tests/unit/mocks/): what it claims, which BAR it hooks under which
// device, that it asks the monitor clock for its tick, that a controller whose shadow memory it
// could not reach is hidden from the guest, and that under a USB policy it claims and mediates
// the controller (the policy is enforced on its mass-storage path). The mediation
// itself (takeover, registers) is tested on the pure controller (test_ehci_schedule.cpp).
//
// The glue keeps its controllers in globals, as in the monitor: the tests share one attached
// controller.
#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/device/pci_registry.hpp"
#include "core/timer.hpp"
#include "drivers/usb/ehci_mediator.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "tests/unit/mocks/monitor_registries.hpp"

// The mocks have no clock; the takeover's waits need none. Weak: a mock's own wins.
__attribute__((weak)) void tv::clock_delay_us(u64) {}

namespace {
void (*g_tick)() = nullptr;
tv::u64 g_tick_us = 0;
}  // namespace

// The monitor clock, faked: the job is kept for the test to run.
bool tv::timer_add_periodic(void (*job)(), u64 period_us) {
    g_tick = job;
    g_tick_us = period_us;
    return true;
}

using namespace tv;
using namespace tv::pci;
using tv::mocks::registries;

namespace {

constexpr u64 kBar0 = 0xF8400000, kBar0Size = 0x1000, kOp = 0x20;

// A usb-ehci at 0x32:dev.0 with QEMU's capability registers (CAPLENGTH 0x20, no 64-bit).
Function ehci_at(u8 dev, u64 bar0, u32 hccparams = 0x80) {
    Function f{};
    f.bdf = Bdf{0x32, dev, 0};
    f.vendor = 0x8086;
    f.device = 0x24cd;
    f.class_code = 0x0C;
    f.subclass = 0x03;
    f.prog_if = 0x20;
    f.bar_count = 1;
    f.bars[0] = Bar{BarKind::Mem32, false, bar0, kBar0Size, 0x10};
    auto& r = registries();
    r.device_regs[bar0 + 0x00] = 0x01000000 | kOp;
    r.device_regs[bar0 + 0x04] = 6;
    r.device_regs[bar0 + 0x08] = hccparams;
    r.device_regs[bar0 + kOp + 4] = 1u << 12;  // USBSTS: halted
    return f;
}

struct Attached {
    PciRegistry reg;
    Status status{Status::Invalid};
    u32 unlocked{0};
    explicit Attached(Function const* fns, size_t n) {
        if (!ok(reg.add(&usb::kEhciDriver))) return;
        u32 const before = registries().device_accesses_unlocked;
        char const* failed = nullptr;
        status = reg.attach_all(fns, n, &failed);
        unlocked = registries().device_accesses_unlocked - before;
    }
};

Function const kFirst[] = {ehci_at(1, kBar0)};
Attached& first() {
    static Attached a{kFirst, 1};
    return a;
}

}  // namespace

TEST(EhciInstallGlue, ClaimsTheFunctionHooksBar0UnderItsDeviceAndAsksForTheTick) {
    Attached& a = first();
    ASSERT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.reg.owner(kFirst[0].bdf, kAllParts), &usb::kEhciDriver);
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kBar0 + kOp});
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->name, "ehci-mediator");
    EXPECT_EQ(h->size, kBar0Size);
    ASSERT_NE(h->device, nullptr);
    EXPECT_STREQ(h->device->name(), "ehci");
    bool followed = false;
    for (auto const& f : registries().follows) followed |= f.bdf == kFirst[0].bdf && f.bar == 0;
    EXPECT_TRUE(followed);
    EXPECT_EQ(a.unlocked, 0u);
    ASSERT_NE(g_tick, nullptr);
    EXPECT_EQ(g_tick_us, 1000u);
}

// The mocks' monitor pages live on the host heap, far above 4 GiB: memory a 32-bit EHCI
// controller could not reach. The controller is then claimed but never mediated, and the guest
// never reaches it (its registers read as all ones, its writes are dropped): fail closed.
TEST(EhciInstallGlue, ShadowMemoryTheControllerCannotReachHidesItsRegisters) {
    first();
    EXPECT_TRUE(registries().logged("ehci 32:01.0: 64-bit addressing or shadow memory above 4 GiB: not mediated"));
    mocks::MmioHookRec const* h = registries().mmio_at(Gpa{kBar0});
    ASSERT_NE(h, nullptr);
    test::FakeVcpu v;
    u64 caps = 0;
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{kBar0}, 4, false, &caps), MmioAction::Handled);
    EXPECT_EQ(caps, ~u64{0});
    u64 run = 0x21;  // Run, async schedule
    u32 const before = registries().device_regs[kBar0 + kOp];
    EXPECT_EQ(h->fn(h->ctx, v, Gpa{kBar0 + kOp}, 4, true, &run), MmioAction::Handled);
    EXPECT_EQ(registries().device_regs[kBar0 + kOp], before);
    ASSERT_NE(g_tick, nullptr);
    g_tick();  // nothing to tick, nothing touched
    EXPECT_EQ(registries().device_regs[kBar0 + kOp], before);
}

TEST(EhciInstallGlue, UnderAUsbPolicyTheControllerIsClaimedAndMediated) {
    first();
    auto& r = registries();
    r.conf = Config{};
    r.conf.usb.present = true;
    r.conf.usb.storage = UsbRule::Encrypt;
    r.conf_loaded = true;
    static Function const second[] = {ehci_at(2, 0xF8500000)};
    Attached a{second, 1};
    r.conf_loaded = false;
    EXPECT_EQ(a.status, Status::Ok);
    EXPECT_NE(a.reg.owner(second[0].bdf, kAllParts), nullptr);
    EXPECT_NE(r.mmio_at(Gpa{0xF8500000}), nullptr);
    // Claimed and hooked; the mocks' memory is above 4 GiB, so it ends unmediated as above.
    EXPECT_TRUE(r.logged("ehci 32:02.0: 64-bit addressing or shadow memory above 4 GiB"));
    EXPECT_FALSE(r.logged("ehci 32:02.0: not mediated ("));
}
