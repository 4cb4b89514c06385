// The IDE mediator's monitor glue (drivers/ide/ide_install.cpp), host-tested against fakes of
// the monitor's registries (tests/unit/mocks/): what it claims through the PCI registry, which
// ports it hooks under which device, that it pins the controller's BARs and programming
// interface, that its probe goes through the port seam (core/device/port_io) to the disk that
// answers, and that a controller it cannot mediate fails the attach.
//
// The glue keeps its channels in globals, as in the monitor (two controllers, four channels),
// so the suite attaches its two controllers once and each test checks one part of the outcome.
// The legacy ports it claims are given back at the end (the AoE disk's suite claims them too).
#include <gtest/gtest.h>

#include "core/device/pci_registry.hpp"
#include "drivers/ide/ide_install.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "tests/unit/mocks/monitor_registries.hpp"
#include "tests/unit/test_ide_fake.hpp"

using namespace tv;
using namespace tv::pci;
using tv::mocks::registries;

namespace {

constexpr u16 kRegBar4 = 0x20, kRegClassReg = 0x08;

// The fake disk of test_ide_fake.hpp on the legacy primary channel (0x1F0/0x3F6, bus master
// 0xC000) as the machine's ports; the slave position is empty (status reads 0), and every
// other port floats (all ones), as on a PC with nothing behind it.
class Machine final : public PortIo {
  public:
    u32 in(u16 p, u8 size) override {
        if (!mine(p)) return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
        if (slave_ && (p == idefake::kCtrl || p == idefake::kCmd + 7)) return 0;  // no device 1
        return disk.port_in(p, size);
    }
    void out(u16 p, u8 size, u32 v) override {
        if (!mine(p)) return;
        if (p == idefake::kCmd + 6) slave_ = v & 0x10;
        if (!slave_ || p != idefake::kCmd + 7) disk.port_out(p, size, v);
    }
    void in_words(u16 p, u16* buf, u32 n) override { disk.port_in_words(p, buf, n); }
    void out_words(u16 p, u16 const* buf, u32 n) override { disk.port_out_words(p, buf, n); }

    idefake::FakeIde disk;

  private:
    static bool mine(u16 p) {
        return (p >= idefake::kCmd && p < idefake::kCmd + 8) || p == idefake::kCtrl ||
               (p >= idefake::kBm && p < idefake::kBm + 8);
    }
    bool slave_{false};
};

// PIIX-style: both channels in compatibility mode, the bus master at 0xC000.
Function piix_at(Bdf b, u8 prog_if, u16 bm) {
    Function f{};
    f.bdf = b;
    f.vendor = 0x8086;
    f.device = 0x7010;
    f.class_code = 0x01;
    f.subclass = 0x01;
    f.prog_if = prog_if;
    f.bar_count = 6;
    f.bars[4] = Bar{BarKind::Io, false, bm, 16, kRegBar4};
    return f;
}

// A controller with both channels in native mode (prog-if bits 0 and 2): the secondary's
// command block at cmd and its control block at ctl, the primary's 0x30 above them.
Function native_at(Bdf b, u16 cmd, u16 ctl, u16 bm) {
    Function f = piix_at(b, 0x85, bm);
    f.bars[0] = Bar{BarKind::Io, false, static_cast<u16>(cmd + 0x30), 8, 0x10};
    f.bars[1] = Bar{BarKind::Io, false, static_cast<u16>(ctl + 0x30), 4, 0x14};
    f.bars[2] = Bar{BarKind::Io, false, cmd, 8, 0x18};
    f.bars[3] = Bar{BarKind::Io, false, ctl, 4, 0x1C};
    return f;
}

Function const kLegacy = piix_at(Bdf{0, 1, 1}, 0x80, idefake::kBm);
Function const kNative = native_at(Bdf{0, 6, 0}, 0xD000, 0xD010, 0xD020);
Function const kThird = native_at(Bdf{0, 7, 0}, 0xE400, 0xE410, 0xE420);

// Another driver that owns kNative's primary channel (as the AoE disk owns a PIIX's).
constexpr u8 kDev6 = 6;
PciDriver const kPrimaryTaker{
    "primary-taker", nullptr, [](Function const& f) { return f.bdf.dev == kDev6; },
    [](Function const&, PciClaim& c) { return c.take(kIdePrimary) ? Status::Ok : Status::Exists; }, nullptr};

void seed_config(Function const& f) {
    registries().write_config(f.bdf, kRegClassReg, 0x01010000u | u32{f.prog_if} << 8);
    for (u16 i = 0; i < 5; ++i)
        if (f.bars[i].kind == BarKind::Io)
            registries().write_config(f.bdf, static_cast<u16>(0x10 + 4 * i), static_cast<u32>(f.bars[i].base) | 1u);
}

class IdeInstallGlue : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        mocks::Registries& r = registries();
        r.ports = &machine;
        if (attached) return r.unpark(parked);  // run again (--gtest_repeat): the glue attached once
        attached = true;
        for (Function const& f : {kLegacy, kNative, kThird}) seed_config(f);
        char const* failed = nullptr;
        // The legacy controller on one CPU: the taskfile ports do not exit.
        static Function const one[] = {kLegacy};
        ASSERT_TRUE(ok(legacy.add(&ata::kIdeDriver)));
        legacy_status = legacy.attach_all(one, 1, &failed);
        // The native one on two: they do.
        r.cpus = 2;
        static Function const two[] = {kNative};
        ASSERT_TRUE(ok(native.add(&kPrimaryTaker)));
        ASSERT_TRUE(ok(native.add(&ata::kIdeDriver)));
        native_status = native.attach_all(two, 1, &failed);
        r.cpus = 1;
    }
    static void TearDownTestSuite() {
        parked = registries().park_hooks("ide-");
        registries().ports = nullptr;
    }

    static Device* device_of(u16 port) {
        mocks::IoHookRec const* h = registries().io_at(port);
        return h ? h->device : nullptr;
    }

    static inline Machine machine;
    static inline bool attached = false;
    static inline mocks::Registries::Parked parked;
    static inline PciRegistry legacy, native;
    static inline Status legacy_status = Status::Invalid, native_status = Status::Invalid;
    test::FakeVcpu v;
};

TEST_F(IdeInstallGlue, BothControllersAttach) {
    EXPECT_EQ(legacy_status, Status::Ok);
    EXPECT_EQ(native_status, Status::Ok);
}

TEST_F(IdeInstallGlue, LegacyChannelsAreClaimedWithTheirHalvesOfTheBusMaster) {
    EXPECT_EQ(legacy.owner(kLegacy.bdf, kIdePrimary), &ata::kIdeDriver);
    EXPECT_EQ(legacy.owner(kLegacy.bdf, kIdeSecondary), &ata::kIdeDriver);
    struct Want {
        u16 first, count;
        char const* name;
    } const want[] = {
        {0x1F0, 2, "ide-00:01.1-primary-data"},   {0x1F7, 1, "ide-00:01.1-primary-cmd"},
        {0x3F6, 1, "ide-00:01.1-primary-ctl"},    {0xC000, 8, "ide-00:01.1-primary-bm"},
        {0x170, 2, "ide-00:01.1-secondary-data"}, {0x177, 1, "ide-00:01.1-secondary-cmd"},
        {0x376, 1, "ide-00:01.1-secondary-ctl"},  {0xC008, 8, "ide-00:01.1-secondary-bm"},
    };
    for (Want const& w : want) {
        mocks::IoHookRec const* h = registries().io_at(w.first);
        ASSERT_NE(h, nullptr) << w.name;
        EXPECT_EQ(h->first, w.first) << w.name;
        EXPECT_EQ(h->count, w.count) << w.name;
        EXPECT_EQ(h->name, w.name);
    }
    // One CPU: count, LBA and device are read back at the command write, they cost no exit.
    for (u16 p = 0x1F2; p < 0x1F7; ++p) EXPECT_EQ(registries().io_at(p), nullptr) << p;
}

// The mediator is one device: every channel's ports and every controller's pinned
// configuration registers run under its one lock.
TEST_F(IdeInstallGlue, EveryHookOfEveryControllerNamesOneDevice) {
    Device* const d = device_of(0x1F0);
    ASSERT_NE(d, nullptr);
    for (u16 p : {u16{0x1F7}, u16{0x3F6}, u16{0xC000}, u16{0x170}, u16{0x376}, u16{0xC008}, u16{0xD000}, u16{0xD012},
                  u16{0xD028}})
        EXPECT_EQ(device_of(p), d) << p;
    for (Bdf b : {kLegacy.bdf, kNative.bdf})
        for (u16 reg : {kRegClassReg, u16{0x10}, kRegBar4}) {
            mocks::ConfigHookRec const* c = registries().config_at(b, reg);
            ASSERT_NE(c, nullptr) << reg;
            EXPECT_EQ(c->device, d) << reg;
        }
}

TEST_F(IdeInstallGlue, TheProbeIdentifiesTheDiskThatAnswersThroughThePortSeam) {
    ASSERT_FALSE(machine.disk.commands.empty());
    EXPECT_EQ(machine.disk.commands.front(), 0xEC);  // IDENTIFY DEVICE, through machine_ports()
    EXPECT_TRUE(registries().logged("ide-00:01.1-primary.0: disk 'QM00001'"));
    EXPECT_FALSE(registries().logged("ide-00:01.1-primary.1: disk"));  // the empty slave position
}

// Nothing answers on the secondary channel: it is claimed all the same (a disk there is
// attached at the guest's own IDENTIFY), and the probe gives up without a disk.
TEST_F(IdeInstallGlue, AChannelThatDoesNotAnswerIsClaimedAllTheSame) {
    EXPECT_NE(registries().io_at(0x177), nullptr);
    EXPECT_NE(registries().io_at(0x376), nullptr);
    EXPECT_FALSE(registries().logged("ide-00:01.1-secondary.0: disk"));
    EXPECT_TRUE(registries().logged("ide-00:01.1-secondary: ports 0x170/0x376, bus master 0xc008"));
}

TEST_F(IdeInstallGlue, WithSeveralCpusTheWholeTaskfileExits) {
    mocks::IoHookRec const* data = registries().io_at(0xD000);
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->name, "ide-00:06.0-secondary-data");
    EXPECT_EQ(data->count, 7);  // data to device: another CPU's write waits for the lock
    mocks::IoHookRec const* ctl = registries().io_at(0xD012);  // native: BAR3 + 2
    ASSERT_NE(ctl, nullptr);
    EXPECT_EQ(ctl->count, 1);
    EXPECT_TRUE(registries().logged("ide-00:06.0-secondary: ports 0xd000/0xd012, bus master 0xd028, taskfile intercepted (SMP)"));
}

TEST_F(IdeInstallGlue, AChannelAnotherDriverTookIsLeftToIt) {
    EXPECT_EQ(native.owner(kNative.bdf, kIdePrimary), &kPrimaryTaker);
    EXPECT_EQ(native.owner(kNative.bdf, kIdeSecondary), &ata::kIdeDriver);
    EXPECT_EQ(registries().io_at(0xD030), nullptr);  // the primary's command block
    EXPECT_EQ(registries().io_at(0xD042), nullptr);  // its control block
    EXPECT_EQ(registries().io_at(0xD020), nullptr);  // its half of the bus master
    EXPECT_FALSE(registries().logged("ide-00:06.0-primary"));
}

// The ports the backends intercept are fixed once the guest runs: a BAR the guest moves would
// take a channel out of mediation, so the move never reaches the controller.
TEST_F(IdeInstallGlue, AGuestMoveOfAPinnedBarIsRefusedAndLogged) {
    mocks::ConfigHookRec const* pin = registries().config_at(kLegacy.bdf, kRegBar4);
    ASSERT_NE(pin, nullptr);
    u32 moved = 0xE001;
    EXPECT_EQ(pin->fn(pin->ctx, v, kLegacy.bdf, kRegBar4, 4, true, &moved), ConfigAction::Handled);
    EXPECT_EQ(registries().read_config(kLegacy.bdf, kRegBar4), 0xC001u);
    EXPECT_TRUE(registries().logged("ide: BAR4 stays at 0xc001 (guest wrote 0xe001)"));
    u32 ones = 0xFFFFFFFF;  // sizing reaches the device, and the old value written back too
    EXPECT_EQ(pin->fn(pin->ctx, v, kLegacy.bdf, kRegBar4, 4, true, &ones), ConfigAction::Handled);
    EXPECT_EQ(registries().read_config(kLegacy.bdf, kRegBar4), 0xFFFFFFFFu);
    u32 back = 0xC001;
    EXPECT_EQ(pin->fn(pin->ctx, v, kLegacy.bdf, kRegBar4, 4, true, &back), ConfigAction::Handled);
    EXPECT_EQ(registries().read_config(kLegacy.bdf, kRegBar4), 0xC001u);
}

// Switching a channel to native mode would move it to ports nobody intercepts.
TEST_F(IdeInstallGlue, TheProgrammingInterfaceCannotBeSwitched) {
    mocks::ConfigHookRec const* cls = registries().config_at(kLegacy.bdf, kRegClassReg);
    ASSERT_NE(cls, nullptr);
    u32 native_mode = 0x85;
    EXPECT_EQ(cls->fn(cls->ctx, v, kLegacy.bdf, 0x09, 1, true, &native_mode), ConfigAction::Handled);
    EXPECT_EQ(registries().read_config(kLegacy.bdf, kRegClassReg), 0x01018000u);
    EXPECT_TRUE(registries().logged("ide: guest write 0x1018500 to the class/prog-if register ignored"));
}

// Room for two controllers: a third fails the attach (the monitor stops booting) rather than
// leave its channels unmediated.
TEST_F(IdeInstallGlue, AControllerBeyondItsRoomFailsTheAttach) {
    static Function const fns[] = {kThird};
    PciRegistry reg;
    ASSERT_TRUE(ok(reg.add(&ata::kIdeDriver)));
    char const* failed = nullptr;
    EXPECT_EQ(reg.attach_all(fns, 1, &failed), Status::NoMemory);
    ASSERT_NE(failed, nullptr);
    EXPECT_STREQ(failed, "ide");
    EXPECT_TRUE(registries().logged("ide: 00:07.0: could not be mediated"));
    EXPECT_EQ(registries().io_at(0xE400), nullptr);
    EXPECT_EQ(registries().config_at(kThird.bdf, kRegBar4), nullptr);
}

TEST_F(IdeInstallGlue, KeysThatCannotBeLoadedFailTheAttachBeforeAnyClaim) {
    static Function const fns[] = {kThird};
    PciRegistry reg;
    ASSERT_TRUE(ok(reg.add(&ata::kIdeDriver)));
    char const* failed = nullptr;
    registries().boot_keys = Status::Invalid;
    Status const s = reg.attach_all(fns, 1, &failed);
    registries().boot_keys = Status::Ok;
    EXPECT_EQ(s, Status::Invalid);
    EXPECT_EQ(reg.owner(kThird.bdf, kAllParts), nullptr);
    EXPECT_EQ(registries().io_at(0xE400), nullptr);
}

}  // namespace
