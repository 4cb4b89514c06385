// The hook half of the device kit: I/O-port routing (wide accesses that cross a claimed
// port are split into bytes, each byte to its owner) and every hook running under its
// device's lock.
#include <gtest/gtest.h>

#include <string>

#include "core/device/hook_move.hpp"
#include "core/device/port_router.hpp"
#include "drivers/pci/bar_plan.hpp"
#include "drivers/pci/config_hooks.hpp"
#include "tests/unit/fake_vcpu.hpp"

namespace tv {
namespace {

struct BusAccess {
    u16 port;
    u8 size;
    bool in;
    u32 value;
};

class FakeBus final : public PortBus {
  public:
    u32 in(u16 port, u8 size) override {
        log[n++] = BusAccess{port, size, true, 0};
        return 0xA0u + (port & 0xF);  // each port reads as a byte of its own
    }
    void out(u16 port, u8 size, u32 value) override { log[n++] = BusAccess{port, size, false, value}; }
    BusAccess log[16]{};
    int n = 0;
};

struct Seen {
    Device* device;
    bool locked_during;
    IoExit io[8];
    u32 value[8];
    int n;
    IoAction answer;
    u32 reads_as;
};

IoAction record(void* ctx, Vcpu&, IoExit const& io, u32* value) {
    Seen& s = *static_cast<Seen*>(ctx);
    s.locked_during = s.device->locked();
    s.io[s.n] = io;
    s.value[s.n++] = *value;
    if (io.in && s.answer == IoAction::Handled) *value = s.reads_as;
    return s.answer;
}

IoExit out_of(u16 port, u8 size) { return IoExit{port, size, false, false, false}; }
IoExit in_of(u16 port, u8 size) { return IoExit{port, size, true, false, false}; }

// The IDE primary channel as the IDE mediator claims it: data and features (0x1F0-0x1F1)
// and the command register (0x1F7); count, LBA and device (0x1F2-0x1F6) pass through.
struct IdeLike {
    Device dev{"ide"};
    Seen data{&dev, false, {}, {}, 0, IoAction::Handled, 0x11223344};
    Seen cmd{&dev, false, {}, {}, 0, IoAction::Handled, 0x50};
    PortRouter r;
    IdeLike() {
        EXPECT_EQ(r.add(PortHook{0x1F0, 2, record, &data, "ide0-data", &dev, 0}), Status::Ok);
        EXPECT_EQ(r.add(PortHook{0x1F7, 1, record, &cmd, "ide0-cmd", &dev, 0}), Status::Ok);
    }
};

TEST(KitPortRouter, WordOutAt1F6DeliversThe1F7ByteToTheCommandHook) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    EXPECT_TRUE(ide.r.splits(0x1F6, 2));
    ide.r.access(v, out_of(0x1F6, 2), 0xEC40, bus, &handled);
    ASSERT_EQ(bus.n, 1);  // only the unclaimed device register reaches the hardware
    EXPECT_EQ(bus.log[0].port, 0x1F6);
    EXPECT_EQ(bus.log[0].size, 1);
    EXPECT_EQ(bus.log[0].value, 0x40u);
    ASSERT_EQ(ide.cmd.n, 1);
    EXPECT_EQ(ide.cmd.io[0].port, 0x1F7);
    EXPECT_EQ(ide.cmd.io[0].size, 1);
    EXPECT_EQ(ide.cmd.value[0], 0xECu);
    EXPECT_TRUE(handled);
}

TEST(KitPortRouter, DwordOutAt1F4ReachesTheCommandHookAsItsLastByte) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    ide.r.access(v, out_of(0x1F4, 4), 0xC8E01234, bus, &handled);
    ASSERT_EQ(bus.n, 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(bus.log[i].port, 0x1F4 + i);
    ASSERT_EQ(ide.cmd.n, 1);
    EXPECT_EQ(ide.cmd.value[0], 0xC8u);
}

TEST(KitPortRouter, SplitReadAssemblesEachOwnersByte) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    u32 const got = ide.r.access(v, in_of(0x1F6, 2), 0, bus, &handled);
    EXPECT_EQ(got, 0x50A6u);  // 0x1F7 from the hook (status), 0x1F6 from the device
    ASSERT_EQ(ide.cmd.n, 1);
    EXPECT_TRUE(ide.cmd.io[0].in);
}

TEST(KitPortRouter, WideAccessWithinOneHooksPortsStaysWhole) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    // 32-bit PIO on the data port: 0x1F2-0x1F3 are unclaimed, no other hook is touched.
    EXPECT_FALSE(ide.r.splits(0x1F0, 4));
    EXPECT_EQ(ide.r.access(v, in_of(0x1F0, 4), 0, bus, &handled), 0x11223344u);
    ASSERT_EQ(ide.data.n, 1);
    EXPECT_EQ(ide.data.io[0].size, 4);
    EXPECT_EQ(bus.n, 0);
}

TEST(KitPortRouter, UnclaimedWideAccessGoesWholeToTheHardware) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    ide.r.access(v, out_of(0x1F2, 4), 0x01020304, bus, &handled);
    ASSERT_EQ(bus.n, 1);
    EXPECT_EQ(bus.log[0].size, 4);
    EXPECT_FALSE(handled);
}

TEST(KitPortRouter, StringElementsAreRoutedLikeSingleAccesses) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    IoExit io = out_of(0x1F6, 2);
    io.string = io.rep = true;  // one element of a REP OUTSW
    ide.r.access(v, io, 0xEC00, bus, &handled);
    ASSERT_EQ(ide.cmd.n, 1);
    EXPECT_EQ(ide.cmd.value[0], 0xECu);
    EXPECT_TRUE(ide.cmd.io[0].string);
}

// The PCI configuration mechanism: CF8-CFB and CFC-CFF are two hooks, so a dword OUT at
// 0xCFA gives its upper half to the data ports as bytes CFC and CFD.
TEST(KitPortRouter, DwordAtCfaReachesTheDataPortHookByteByByte) {
    Device pci{"pci"};
    Seen addr{&pci, false, {}, {}, 0, IoAction::PassThrough, 0};
    Seen data{&pci, false, {}, {}, 0, IoAction::Handled, 0};
    PortRouter r;
    ASSERT_EQ(r.add(PortHook{0xCF8, 4, record, &addr, "pci-address", &pci, 0}), Status::Ok);
    ASSERT_EQ(r.add(PortHook{0xCFC, 4, record, &data, "pci-data", &pci, 0}), Status::Ok);
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    r.access(v, out_of(0xCFA, 4), 0xDDCCBBAA, bus, &handled);
    ASSERT_EQ(addr.n, 2);
    EXPECT_EQ(addr.io[1].port, 0xCFB);
    ASSERT_EQ(data.n, 2);
    EXPECT_EQ(data.io[0].port, 0xCFC);
    EXPECT_EQ(data.value[0], 0xCCu);
    EXPECT_EQ(data.io[1].port, 0xCFD);
    EXPECT_EQ(data.value[1], 0xDDu);
    ASSERT_EQ(bus.n, 2);  // the address bytes passed through, the data bytes did not
    EXPECT_EQ(bus.log[0].port, 0xCFA);
    r.access(v, out_of(0xCFB, 2), 0x1100, bus, &handled);
    EXPECT_EQ(data.n, 3);
    EXPECT_EQ(data.value[2], 0x11u);
}

TEST(KitPortRouter, BytesPastFfffAreNeverDecoded) {
    Device d{"d"};
    Seen s{&d, false, {}, {}, 0, IoAction::Handled, 0x77};
    PortRouter r;
    ASSERT_EQ(r.add(PortHook{0xFFFF, 1, record, &s, "top", &d, 0}), Status::Ok);
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    EXPECT_EQ(r.access(v, in_of(0xFFFF, 4), 0, bus, &handled), 0xFFFFFF77u);
    EXPECT_EQ(bus.n, 0);
    EXPECT_EQ(s.io[0].size, 1);
}

TEST(KitPortRouter, EveryHookRunsUnderItsDevicesLock) {
    IdeLike ide;
    FakeBus bus;
    test::FakeVcpu v;
    bool handled = false;
    ide.r.access(v, out_of(0x1F7, 1), 0x20, bus, &handled);
    EXPECT_TRUE(ide.cmd.locked_during);
    EXPECT_FALSE(ide.dev.locked());  // and lets go afterwards
}

TEST(KitPortRouter, RefusesOverlapsAndHooksWithoutADevice) {
    Device d{"d"};
    Seen s{&d, false, {}, {}, 0, IoAction::Handled, 0};
    PortRouter r;
    ASSERT_EQ(r.add(PortHook{0x60, 4, record, &s, "a", &d, 0}), Status::Ok);
    EXPECT_EQ(r.add(PortHook{0x63, 2, record, &s, "b", &d, 0}), Status::Exists);
    EXPECT_EQ(r.add(PortHook{0x70, 2, record, &s, "c", nullptr, 0}), Status::Invalid);
    EXPECT_EQ(r.add(PortHook{0xFFFF, 2, record, &s, "d", &d, 0}), Status::Invalid);
}

// One device reached by two routes, as AHCI is (its index/data ports and its configuration
// registers): each route's hook finds the same lock held, and the pass-through the
// configuration hook asks for runs under it too.
struct TwoRoutes {
    Device dev{"ahci"};
    bool port_locked = false, config_locked = false, bus_locked = false;
};

IoAction idp_hook(void* ctx, Vcpu&, IoExit const&, u32*) {
    auto& t = *static_cast<TwoRoutes*>(ctx);
    t.port_locked = t.dev.locked();
    return IoAction::Handled;
}

pci::ConfigAction config_hook(void* ctx, Vcpu&, pci::Bdf, u16, u8, bool, u32*) {
    auto& t = *static_cast<TwoRoutes*>(ctx);
    t.config_locked = t.dev.locked();
    return pci::ConfigAction::PassThrough;
}

class LockCheckingConfigBus final : public pci::ConfigBus {
  public:
    explicit LockCheckingConfigBus(TwoRoutes& t) : t_(t) {}
    u32 read(pci::Bdf, u16, u8) override {
        t_.bus_locked = t_.dev.locked();
        return 0x1234;
    }
    void write(pci::Bdf, u16, u8, u32 value) override {
        t_.bus_locked = t_.dev.locked();
        written = value;
    }
    u32 written = 0;

  private:
    TwoRoutes& t_;
};

TEST(KitDeviceLock, PortAndConfigurationRoutesRunUnderTheOneDeviceLock) {
    TwoRoutes t;
    PortRouter ports;
    ASSERT_EQ(ports.add(PortHook{0xC040, 16, idp_hook, &t, "ahci-idp", &t.dev, 0}), Status::Ok);
    pci::ConfigRouter config;
    ASSERT_EQ(config.add(pci::ConfigHook{{0, 3, 0}, 0x24, 4, config_hook, &t, "abar", 0, &t.dev}), Status::Ok);
    FakeBus bus;
    LockCheckingConfigBus cbus(t);
    test::FakeVcpu v;
    bool handled = false;
    ports.access(v, out_of(0xC040, 4), 0, bus, &handled);
    u32 value = 0xFEBF0000;
    EXPECT_TRUE(config.route(v, {0, 3, 0}, 0x24, 4, true, &value, cbus));
    EXPECT_TRUE(t.port_locked);
    EXPECT_TRUE(t.config_locked);
    EXPECT_TRUE(t.bus_locked);  // the pass-through too
    EXPECT_EQ(cbus.written, 0xFEBF0000u);
    EXPECT_FALSE(t.dev.locked());
    value = 0;
    EXPECT_TRUE(config.route(v, {0, 3, 0}, 0x24, 4, false, &value, cbus));
    EXPECT_EQ(value, 0x1234u);
}

TEST(KitDeviceLock, AnUnhookedConfigurationAccessIsNotRouted) {
    TwoRoutes t;
    pci::ConfigRouter config;
    ASSERT_EQ(config.add(pci::ConfigHook{{0, 3, 0}, 0x24, 4, config_hook, &t, "abar", 0, &t.dev}), Status::Ok);
    LockCheckingConfigBus cbus(t);
    test::FakeVcpu v;
    u32 value = 0;
    EXPECT_FALSE(config.route(v, {0, 3, 0}, 0x20, 4, true, &value, cbus));
    EXPECT_FALSE(config.route(v, {0, 4, 0}, 0x24, 4, true, &value, cbus));
    EXPECT_FALSE(t.config_locked);
}

// --- a write to a followed BAR, decided before the device sees it ---------------------------

using pci::BarRegs;
using pci::BarWriteKind;
using pci::plan_bar_write;

constexpr pci::Bar kAbar{pci::BarKind::Mem32, false, 0xFEBF0000, 0x2000, 0x24};
constexpr pci::Bar kBar64{pci::BarKind::Mem64, true, 0xFE000000, 0x4000, 0x10};

TEST(KitBarPlan, ANewBaseIsAMoveWithOnlyTheBitsTheDeviceKeeps) {
    auto const p = plan_bar_write(kAbar, {0xFEBF0000, 0}, 0xFEBF0000, 0x24, 4, 0xFEBE1234);
    EXPECT_EQ(p.kind, BarWriteKind::Move);
    EXPECT_EQ(p.base, 0xFEBE0000u);  // an 8 KiB BAR keeps bits 31:13
    EXPECT_EQ(p.regs.lo, 0xFEBE0000u);
    auto const b = plan_bar_write(kAbar, {0xFEBF0000, 0}, 0xFEBF0000, 0x27, 1, 0xFD);  // the top byte alone
    EXPECT_EQ(b.kind, BarWriteKind::Move);
    EXPECT_EQ(b.base, 0xFDBF0000u);
}

TEST(KitBarPlan, SizingIsAnsweredWithoutTheDevice) {
    auto const p = plan_bar_write(kAbar, {0xFEBF0000, 0}, 0xFEBF0000, 0x24, 4, 0xFFFFFFFF);
    EXPECT_EQ(p.kind, BarWriteKind::Sizing);
    EXPECT_EQ(pci::bar_sizing_answer(kAbar, {0xFEBF0000, 0}, 0x24), 0xFFFFE000u);
    auto const hi = plan_bar_write(kBar64, {0xFE00000C, 0}, 0xFE000000, 0x14, 4, 0xFFFFFFFF);
    EXPECT_EQ(hi.kind, BarWriteKind::Sizing);
    EXPECT_TRUE(hi.upper);
    EXPECT_EQ(pci::bar_sizing_answer(kBar64, {0xFE00000C, 0}, 0x10), 0xFFFFC00Cu);  // flags kept
    EXPECT_EQ(pci::bar_sizing_answer(kBar64, {0xFE00000C, 0}, 0x14), 0xFFFFFFFFu);
}

TEST(KitBarPlan, TheSameBaseAndBaseZeroAreNoMoves) {
    EXPECT_EQ(plan_bar_write(kAbar, {0xFEBF0000, 0}, 0xFEBF0000, 0x24, 4, 0xFEBF0000).kind, BarWriteKind::Same);
    EXPECT_EQ(plan_bar_write(kAbar, {0xFEBF0000, 0}, 0xFEBF0000, 0x24, 4, 0).kind, BarWriteKind::Unplaced);
}

TEST(KitBarPlan, AnUpperHalfMovesA64BitBarAboveFourGiB) {
    auto const p = plan_bar_write(kBar64, {0xFE00000C, 0}, 0xFE000000, 0x14, 4, 0x8);
    EXPECT_EQ(p.kind, BarWriteKind::Move);
    EXPECT_TRUE(p.upper);
    EXPECT_EQ(p.base, 0x8FE000000ull);
    EXPECT_EQ(p.regs.lo, 0xFE00000Cu);
    EXPECT_EQ(p.regs.hi, 0x8u);
}

// --- the ECAM window: which function and register an address reaches ----------------------

TEST(KitEcam, AddressesDecodeToFunctionAndRegister) {
    constexpr pci::EcamWindow w{0xB0000000, 0, 0xFF};  // q35's window
    pci::Bdf b{};
    u16 reg = 0;
    EXPECT_EQ(pci::ecam_page(w, {0, 0x1F, 2}), 0xB00FA000u);
    ASSERT_TRUE(pci::ecam_decode(w, 0xB00FA024, &b, &reg));
    EXPECT_EQ(b, (pci::Bdf{0, 0x1F, 2}));
    EXPECT_EQ(reg, 0x24);
    ASSERT_TRUE(pci::ecam_decode(w, 0xBFFFFFFF, &b, &reg));
    EXPECT_EQ(b, (pci::Bdf{0xFF, 31, 7}));
    EXPECT_EQ(reg, 0xFFF);
    EXPECT_FALSE(pci::ecam_decode(w, 0xC0000000, &b, &reg));
    EXPECT_FALSE(pci::ecam_decode(w, 0xAFFFFFFF, &b, &reg));
    constexpr pci::EcamWindow part{0xE0000000, 2, 3};  // the base is bus 0's even when it is absent
    EXPECT_FALSE(pci::ecam_decode(part, 0xE0100000, &b, &reg));
    ASSERT_TRUE(pci::ecam_decode(part, 0xE0208010, &b, &reg));
    EXPECT_EQ(b, (pci::Bdf{2, 1, 0}));
}

// The ECAM route reaches the same hook, under the same lock, as the ports do.
TEST(KitEcam, AnEcamAccessIsRoutedToTheSameConfigurationHook) {
    TwoRoutes t;
    pci::ConfigRouter config;
    ASSERT_EQ(config.add(pci::ConfigHook{{0, 0x1F, 2}, 0x24, 4, config_hook, &t, "abar", 0, &t.dev}), Status::Ok);
    LockCheckingConfigBus cbus(t);
    test::FakeVcpu v;
    constexpr pci::EcamWindow w{0xB0000000, 0, 0xFF};
    pci::Bdf b{};
    u16 reg = 0;
    ASSERT_TRUE(pci::ecam_decode(w, 0xB00FA026, &b, &reg));  // the upper word of the ABAR
    u32 value = 0xFEBE;
    EXPECT_TRUE(config.route(v, b, reg, 2, true, &value, cbus));
    EXPECT_TRUE(t.config_locked);
}

// --- a hook following its device: the order of the steps -----------------------------------

class RecordingSteps final : public HookMoveSteps {
  public:
    Status take(u64 first, u64 end) override {
        log += "take " + hex(first) + "-" + hex(end) + "; ";
        return take_result;
    }
    void give_back(u64 first, u64 end) override { log += "give_back " + hex(first) + "-" + hex(end) + "; "; }
    void flush_all() override {
        ++flushes;
        log += "flush; ";
    }
    void move_device() override { log += "device; "; }
    Status follow_window(u64, u64 first, u64) override {
        log += "window " + hex(first) + "; ";
        return Status::Ok;
    }
    static std::string hex(u64 v) {
        char b[24];
        snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(v));
        return b;
    }
    std::string log;
    int flushes = 0;
    Status take_result = Status::Ok;
};

TEST(KitHookMove, TheFlushIsCompleteBeforeTheDeviceMovesAndTheOldPagesComeBackLast) {
    HookPages h{0xFEBF1000, 0x1000, 0xFEBF1000, 0xFEBF2000};
    RecordingSteps steps;
    ASSERT_EQ(move_hook_pages(h, 0xFEBF8000, steps), Status::Ok);
    EXPECT_EQ(steps.log, "take febf8000-febf9000; flush; device; window febf8000; give_back febf1000-febf2000; ");
    EXPECT_EQ(steps.flushes, 1);
    EXPECT_EQ(h.base, 0xFEBF8000u);
    EXPECT_EQ(h.page_end, 0xFEBF9000u);
}

TEST(KitHookMove, AFailedTakeLeavesTheDeviceAndTheHookWhereTheyAre) {
    HookPages h{0xFEBF1000, 0x1000, 0xFEBF1000, 0xFEBF2000};
    RecordingSteps steps;
    steps.take_result = Status::NoMemory;
    EXPECT_EQ(move_hook_pages(h, 0xFEBF8000, steps), Status::NoMemory);
    EXPECT_EQ(steps.log, "take febf8000-febf9000; give_back febf8000-febf9000; ");
    EXPECT_EQ(steps.flushes, 0);
    EXPECT_EQ(h.base, 0xFEBF1000u);
}

TEST(KitHookMove, AMoveNeedingAnotherNumberOfPagesIsRefusedUntouched) {
    HookPages h{0xFEBF1000, 0x1000, 0xFEBF1000, 0xFEBF2000};
    RecordingSteps steps;
    EXPECT_EQ(move_hook_pages(h, 0xFEBF8800, steps), Status::Unsupported);  // would straddle two pages
    EXPECT_EQ(steps.log, "");
}

}  // namespace
}  // namespace tv
