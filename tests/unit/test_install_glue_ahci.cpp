// The AHCI mediator's monitor glue (drivers/ahci/ahci_install.cpp), host-tested against fakes
// of the monitor's registries (tests/unit/mocks/): what it claims, which registers it hooks
// under which device, what a guest's move of a pinned BAR does, and that an install that is
// missing something fails instead of leaving the controller half mediated.
//
// The glue keeps its controllers in globals, as in the monitor (room for two), so each test
// attaches its own controller at its own bus, ABAR and ports, and checks that one outcome.
// The fake HBA implements no ports (PI reads 0): port takeover is tested in test_ahci_*.
//
// The driver's finish() registers its device counters in the process-wide exit-stats
// registry; ExitStatsDeviceCounters tests a registry of its own, so the order does not matter.
#include <gtest/gtest.h>

#include "core/device/pci_registry.hpp"
#include "drivers/ahci/ahci_mediator.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "tests/unit/mocks/monitor_registries.hpp"

using namespace tv;
using namespace tv::pci;
using tv::mocks::registries;

namespace {

constexpr u16 kRegIdpBar = 0x20;  // BAR4: the index-data pair
constexpr u64 kAbarSize = 0x1000;

// An ICH9-style AHCI at 0x20:dev.0: BAR5 (ABAR) at abar, BAR4 the index-data pair at idp.
Function ahci_at(u8 dev, u64 abar, u16 idp) {
    Function f{};
    f.bdf = Bdf{0x20, dev, 0};
    f.vendor = 0x8086;
    f.device = 0x2922;
    f.class_code = 0x01;
    f.subclass = 0x06;
    f.prog_if = 0x01;
    f.bar_count = 6;
    f.bars[4] = Bar{BarKind::Io, false, idp, 0x20, kRegIdpBar};
    f.bars[5] = Bar{BarKind::Mem32, false, abar, kAbarSize, 0x24};
    return f;
}

// One attach of the AHCI driver alone over fns, as pci_drivers_attach runs it.
struct Attached {
    PciRegistry reg;
    Status status{Status::Invalid};
    char const* failed{nullptr};

    explicit Attached(Function const* fns, size_t n) {
        for (size_t i = 0; i < n; ++i)
            registries().write_config(fns[i].bdf, kRegIdpBar, static_cast<u32>(fns[i].bars[4].base) | 1u);
        if (!ok(reg.add(&ata::kAhciDriver))) return;
        status = reg.attach_all(fns, n, &failed);
    }
};

// The glue has room for two controllers, and an attach takes its slot before the bounce
// buffers can fail; an ABAR another hook holds is looked at only while there is room. So the
// attaches that depend on the room run once per process in this order, whichever test runs
// first (--gtest_shuffle): the ABAR hooked elsewhere (no slot), the controller the first
// three tests look at (slot 1), and the one whose bounce buffers find no memory (slot 2).
Function const kFirst[] = {ahci_at(1, 0xFE100000, 0xD100)};
Function const kElsewhere[] = {ahci_at(2, 0xFE200000, 0xD200)};
Function const kNoMemory[] = {ahci_at(5, 0xFE500000, 0xD500)};
struct Slots {
    MmioHookId other{};
    Status other_status =
        mmio_hook_register(Gpa{kElsewhere[0].bars[5].base}, kAbarSize, nullptr, nullptr, "someone-else", &other);
    Attached elsewhere{kElsewhere, 1};
    Attached first{kFirst, 1};
    bool oom = registries().out_of_pages = true;
    Attached no_memory{kNoMemory, 1};
    bool oom_over = registries().out_of_pages = false;
};
Slots const& slots() {
    static Slots const s;
    return s;
}
Attached const& first() { return slots().first; }

mocks::FollowRec const* follow_of(Bdf b) {
    for (auto const& f : registries().follows)
        if (f.bdf == b) return &f;
    return nullptr;
}

TEST(AhciInstallGlue, ClaimsTheWholeFunctionAndHooksItsAbarUnderItsDevice) {
    Function const* fns = kFirst;
    Attached const& a = first();
    ASSERT_EQ(a.status, Status::Ok);
    EXPECT_EQ(a.reg.owner(fns[0].bdf, kAllParts), &ata::kAhciDriver);
    mocks::MmioHookRec const* abar = registries().mmio_at(Gpa{fns[0].bars[5].base + 0x100});
    ASSERT_NE(abar, nullptr);
    EXPECT_EQ(abar->name, "ahci-mediator");
    EXPECT_EQ(abar->base, Gpa{fns[0].bars[5].base});
    EXPECT_EQ(abar->size, kAbarSize);
    ASSERT_NE(abar->device, nullptr);
    // The ABAR is followed when the guest moves it (the kit refuses a move it cannot follow).
    mocks::FollowRec const* follow = follow_of(fns[0].bdf);
    ASSERT_NE(follow, nullptr);
    EXPECT_EQ(follow->bar, 5);
    EXPECT_EQ(registries().mmio_at(mmio_hook_base(follow->hook)), abar);
}

// The index-data pair reaches every ABAR register: it must run under the ABAR's lock, or
// one CPU could write PxCLB through it while another is inside the ABAR handler.
TEST(AhciInstallGlue, IndexDataPairIsHookedUnderTheAbarsDevice) {
    Function const* fns = kFirst;
    ASSERT_EQ(first().status, Status::Ok);
    mocks::MmioHookRec const* abar = registries().mmio_at(Gpa{fns[0].bars[5].base});
    mocks::IoHookRec const* idp = registries().io_at(static_cast<u16>(fns[0].bars[4].base + 4));
    mocks::ConfigHookRec const* pin = registries().config_at(fns[0].bdf, kRegIdpBar);
    ASSERT_TRUE(abar && idp && pin);
    EXPECT_EQ(idp->name, "ahci-idp");
    EXPECT_EQ(idp->first, fns[0].bars[4].base);
    EXPECT_EQ(idp->count, fns[0].bars[4].size);
    EXPECT_EQ(idp->device, abar->device);
    EXPECT_EQ(pin->device, abar->device);
}

TEST(AhciInstallGlue, AGuestMoveOfTheIndexDataPairIsRefusedAndLogged) {
    Function const* fns = kFirst;
    ASSERT_EQ(first().status, Status::Ok);
    mocks::ConfigHookRec const* pin = registries().config_at(fns[0].bdf, kRegIdpBar);
    ASSERT_NE(pin, nullptr);
    test::FakeVcpu v;
    u32 moved = 0xE001;
    EXPECT_EQ(pin->fn(pin->ctx, v, fns[0].bdf, kRegIdpBar, 4, true, &moved), ConfigAction::Handled);
    EXPECT_EQ(registries().read_config(fns[0].bdf, kRegIdpBar), fns[0].bars[4].base | 1u);  // the device never saw it
    EXPECT_TRUE(registries().logged("move the index-data pair BAR"));
    // Sizing is answered from the hook without touching the device.
    u32 ones = 0xFFFFFFFF, size = 0;
    EXPECT_EQ(pin->fn(pin->ctx, v, fns[0].bdf, kRegIdpBar, 4, true, &ones), ConfigAction::Handled);
    EXPECT_EQ(pin->fn(pin->ctx, v, fns[0].bdf, kRegIdpBar, 4, false, &size), ConfigAction::Handled);
    EXPECT_EQ(size, 0xFFFFFFE1u);
    EXPECT_EQ(registries().read_config(fns[0].bdf, kRegIdpBar), fns[0].bars[4].base | 1u);
    u32 back = static_cast<u32>(fns[0].bars[4].base) | 1u;  // the sizing ends with the old value written back
    EXPECT_EQ(pin->fn(pin->ctx, v, fns[0].bdf, kRegIdpBar, 4, true, &back), ConfigAction::Handled);
    EXPECT_EQ(pin->fn(pin->ctx, v, fns[0].bdf, kRegIdpBar, 4, false, &size), ConfigAction::PassThrough);
}

// Another hook already holds the ABAR (the MMIO pass-through test driver, say): the mediator
// leaves the controller alone rather than share its registers, and says so.
TEST(AhciInstallGlue, AnAbarAlreadyHookedIsLeftToItsOwner) {
    Function const* fns = kElsewhere;
    ASSERT_EQ(slots().other_status, Status::Ok);
    Attached const& a = slots().elsewhere;
    EXPECT_EQ(a.status, Status::Ok);
    EXPECT_EQ(registries().mmio_at(Gpa{fns[0].bars[5].base})->name, "someone-else");
    EXPECT_EQ(registries().io_at(static_cast<u16>(fns[0].bars[4].base)), nullptr);
    EXPECT_EQ(follow_of(fns[0].bdf), nullptr);
    EXPECT_TRUE(registries().logged("BAR5 already hooked"));
}

// Without an ABAR there is nothing to mediate through: the attach fails (the monitor stops
// booting) rather than hand the guest an unmediated controller.
TEST(AhciInstallGlue, AControllerWithoutAnAbarFailsTheAttach) {
    static Function fns[] = {ahci_at(3, 0xFE300000, 0xD300)};
    fns[0].bars[5] = Bar{};
    Attached a{fns, 1};
    EXPECT_EQ(a.status, Status::NotFound);
    ASSERT_NE(a.failed, nullptr);
    EXPECT_STREQ(a.failed, "ahci");
    EXPECT_EQ(registries().io_at(static_cast<u16>(fns[0].bars[4].base)), nullptr);
    EXPECT_EQ(registries().config_at(fns[0].bdf, kRegIdpBar), nullptr);
}

TEST(AhciInstallGlue, KeysThatCannotBeLoadedFailTheAttachBeforeAnyHook) {
    static Function const fns[] = {ahci_at(4, 0xFE400000, 0xD400)};
    registries().boot_keys = Status::Invalid;
    Attached a{fns, 1};
    registries().boot_keys = Status::Ok;
    EXPECT_EQ(a.status, Status::Invalid);
    EXPECT_EQ(a.reg.owner(fns[0].bdf, kAllParts), nullptr);
    EXPECT_EQ(registries().mmio_at(Gpa{fns[0].bars[5].base}), nullptr);
}

// No monitor memory for the bounce buffers: the attach fails, the index-data pair (the
// other route to the registers) is never opened.
TEST(AhciInstallGlue, NoMemoryForBounceBuffersFailsTheAttach) {
    Function const* fns = kNoMemory;
    Attached const& a = slots().no_memory;
    EXPECT_EQ(a.status, Status::NoMemory);
    EXPECT_EQ(registries().io_at(static_cast<u16>(fns[0].bars[4].base)), nullptr);
}

}  // namespace
