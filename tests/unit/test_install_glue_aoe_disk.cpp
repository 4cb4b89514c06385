// The AoE disk's monitor glue (drivers/aoe_disk/aoe_disk_install.cpp), host-tested against
// fakes of the monitor's registries (tests/unit/mocks/): it finds its target through the
// monitor's FramePort, takes the first IDE function's primary channel through the PCI
// registry, hooks the legacy primary ports and bus-master channel 0 under its one device,
// becomes BIOS drive 0x80, and interrupts the guest through its IrqLine on IRQ 14. A missing
// network, a silent target, a configuration the initiator refuses and keys that cannot be
// loaded leave nothing hooked.
//
// The glue keeps its disk and initiator in globals, as in the monitor, so every attach runs
// once, in SetUpTestSuite: the refusals first, then the one that succeeds. The disk never
// touches the machine's ports (no device is behind it): the port seam stays floating.
#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "core/boot_info.hpp"
#include "core/device/pci_registry.hpp"
#include "drivers/aoe_disk/aoe_disk_install.hpp"
#include "drivers/nic/frame_port.hpp"
#include "storage/key_table.hpp"
#include "tests/unit/fake_vcpu.hpp"
#include "tests/unit/mocks/monitor_registries.hpp"
#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::pci;
using tv::mocks::registries;

namespace {

constexpr u16 kBm = 0xC100;

// The monitor's link, with a vblade-like target behind it (or nothing, when silent).
class TargetPort final : public nic::FramePort {
  public:
    explicit TargetPort(bool answers) : answers_(answers) { target.set_disk(4096); }
    void set_answers(bool on) { answers_ = on; }  // false: an outage of the target
    Status send(u8 const* frame, size_t len) override {
        if (!answers_) return Status::Ok;
        aoe::test::Bytes reply = target.answer(aoe::test::Bytes(frame, frame + len));
        if (!reply.empty()) replies_.push_back(reply);
        return Status::Ok;
    }
    void poll() override {
        while (!replies_.empty()) {
            aoe::test::Bytes const r = replies_.front();
            replies_.pop_front();
            deliver(r.data(), r.size());
        }
    }
    nic::MacAddr mac() const override { return nic::MacAddr{{0x52, 0x54, 0x00, 0x12, 0x34, 0x99}}; }
    u32 mtu() const override { return 1500; }
    bool link_up() const override { return true; }

    aoe::test::FakeTarget target;

  private:
    bool answers_;
    std::deque<aoe::test::Bytes> replies_;
};

Function piix_at(u8 dev) {
    Function f{};
    f.bdf = Bdf{0, dev, 1};
    f.vendor = 0x8086;
    f.device = 0x7010;
    f.class_code = 0x01;
    f.subclass = 0x01;
    f.prog_if = 0x80;  // both channels in compatibility mode
    f.bar_count = 6;
    f.bars[4] = Bar{BarKind::Io, false, kBm, 16, 0x20};
    return f;
}

Function const kFns[] = {piix_at(1), piix_at(2)};

struct Outcome {
    Status status{Status::Invalid};
    char const* failed{nullptr};
    bool hooked{false};  // the legacy primary command block after this attach
    size_t drives{0};    // BIOS drives installed so far
};

class AoeDiskInstallGlue : public ::testing::Test {
  protected:
    static Outcome attach(nic::FramePort* port) {
        nic::set_monitor_port(port);
        PciRegistry reg;
        Outcome o;
        if (!ok(reg.add(&ata::kAoeDiskDriver))) return o;
        o.status = reg.attach_all(kFns, 2, &o.failed);
        o.hooked = registries().io_at(0x1F0) != nullptr;
        o.drives = registries().bios_drives.size();
        if (ok(o.status)) {
            primary_owner = reg.owner(kFns[0].bdf, kIdePrimary);
            secondary_owner = reg.owner(kFns[0].bdf, kIdeSecondary);
            second_fn_owner = reg.owner(kFns[1].bdf, kAllParts);
        }
        return o;
    }

    static void SetUpTestSuite() {
        mocks::Registries& r = registries();
        saved_port = nic::monitor_port();  // another suite's (the e1000 glue's), put back at the end
        saved_conf = r.conf;
        saved_loaded = r.conf_loaded;
        if (attached) return r.unpark(parked);  // run again (--gtest_repeat): the glue attached once
        attached = true;
        // No [disk.*] keys: another suite (AoeDiskSealed) may have left its table installed.
        ASSERT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok);
        r.conf_loaded = true;
        r.conf.network.present = true;
        r.conf.aoe = {true, 1, 2, 1500, 1000};
        boot_info().firmware = Firmware::Bios;

        r.conf.network.present = false;  // [aoe] without [network]
        no_network = attach(&good_port);
        r.conf.network.present = true;
        no_port = attach(nullptr);  // no NIC mediated
        silent = attach(&silent_port);
        r.conf.aoe.mtu = 100;  // not even one sector per frame
        bad_mtu = attach(&mtu_port);
        r.conf.aoe.mtu = 1500;
        r.boot_keys = Status::Invalid;
        no_keys = attach(&keys_port);
        r.boot_keys = Status::Ok;
        good = attach(&good_port);
    }
    static void TearDownTestSuite() {
        parked = registries().park_hooks("aoe-");
        registries().conf = saved_conf;
        registries().conf_loaded = saved_loaded;
        registries().irq.entries.clear();
        nic::set_monitor_port(saved_port);
    }

    static IoAction access(u16 port, bool in, u32* value) {
        mocks::IoHookRec const* h = registries().io_at(port);
        EXPECT_NE(h, nullptr) << port;
        if (!h) return IoAction::Handled;
        test::FakeVcpu v;
        return h->fn(h->ctx, v, IoExit{port, 1, in, false, false}, value);
    }

    static inline TargetPort good_port{true}, silent_port{false}, mtu_port{true}, keys_port{true};
    static inline bool attached = false;
    static inline mocks::Registries::Parked parked;
    static inline nic::FramePort* saved_port = nullptr;
    static inline Config saved_conf{};
    static inline bool saved_loaded = false;
    static inline Outcome no_network, no_port, silent, bad_mtu, no_keys, good;
    static inline PciDriver const* primary_owner = nullptr;
    static inline PciDriver const* secondary_owner = nullptr;
    static inline PciDriver const* second_fn_owner = nullptr;
};

TEST_F(AoeDiskInstallGlue, FindsItsTargetThroughTheMonitorsPort) {
    ASSERT_EQ(good.status, Status::Ok);
    EXPECT_GE(good_port.target.queries, 1u);
    EXPECT_TRUE(registries().logged("aoe-disk: e1.2 at 02:00:00:00:00:77, 4096 sectors"));
}

TEST_F(AoeDiskInstallGlue, TakesTheFirstIdeFunctionsPrimaryChannelOnly) {
    EXPECT_EQ(primary_owner, &ata::kAoeDiskDriver);
    EXPECT_EQ(secondary_owner, nullptr);  // left to the IDE mediator
    EXPECT_EQ(second_fn_owner, nullptr);  // one disk: the second IDE function is not touched
}

TEST_F(AoeDiskInstallGlue, HooksTheLegacyPrimaryAndBusMasterChannelZeroUnderOneDevice) {
    struct Want {
        u16 first, count;
        char const* name;
    } const want[] = {{0x1F0, 8, "aoe-cmd"}, {0x3F6, 1, "aoe-ctl"}, {kBm, 8, "aoe-bm"}};
    Device* device = nullptr;
    for (Want const& w : want) {
        mocks::IoHookRec const* h = registries().io_at(w.first);
        ASSERT_NE(h, nullptr) << w.name;
        EXPECT_EQ(h->first, w.first);
        EXPECT_EQ(h->count, w.count);
        EXPECT_EQ(h->name, w.name);
        ASSERT_NE(h->device, nullptr);
        if (!device) device = h->device;
        EXPECT_EQ(h->device, device) << w.name;
    }
    EXPECT_EQ(registries().io_at(kBm + 8), nullptr);  // channel 1's half stays with the IDE mediator
    EXPECT_EQ(registries().io_at(0x170), nullptr);
}

TEST_F(AoeDiskInstallGlue, BecomesBiosDrive80) {
    ASSERT_EQ(registries().bios_drives.size(), 1u);
    EXPECT_EQ(registries().bios_drives[0].drive, 0x80);
    EXPECT_NE(registries().bios_drives[0].fn, nullptr);
}

// IRQ 14 follows the guest's own IOAPIC entry: a self-IPI with its vector when unmasked,
// nothing while masked (PIC mode, drivers poll).
TEST_F(AoeDiskInstallGlue, InterruptsTheGuestThroughItsIoapicEntryForIrq14) {
    mocks::FakeIrqControllers& irq = registries().irq;
    irq.ipis.clear();
    u32 v = 0x00;  // nIEN clear: the disk interrupts
    access(0x3F6, false, &v);
    v = 0xA0;
    access(0x1F6, false, &v);
    irq.entries.erase(14);  // masked
    v = 0xEC;
    access(0x1F7, false, &v);
    EXPECT_TRUE(irq.ipis.empty());
    u32 status = 0;
    access(0x1F7, true, &status);  // acknowledges it
    irq.entries[14] = 0x3E;  // fixed, edge, unmasked, vector 0x3E
    v = 0xEC;
    access(0x1F7, false, &v);
    ASSERT_EQ(irq.ipis.size(), 1u);
    EXPECT_EQ(irq.ipis[0].vector, 0x3E);
    EXPECT_TRUE(irq.ipis[0].self);
    irq.entries.erase(14);
}

// A guest command waits for the target inside its exit, through a whole outage up to [aoe]
// timeout_ms (1000 here). The monitor clock's jobs run all along that wait: no 10 ms of it
// passes without timer_run_due (which runs what is due, on the timer CPU).
TEST_F(AoeDiskInstallGlue, ATargetOutageDoesNotHoldOffTheMonitorClock) {
    ASSERT_EQ(good.status, Status::Ok);
    mocks::Registries& r = registries();
    good_port.set_answers(false);
    r.timer_runs.clear();
    u64 const start = r.now_us;
    struct {
        u16 port;
        u32 value;
    } const read_one[] = {{0x3F6, 0x02}, {0x1F6, 0xE0}, {0x1F2, 1}, {0x1F3, 0}, {0x1F4, 0}, {0x1F5, 0}, {0x1F7, 0x20}};
    for (auto const& w : read_one) {
        u32 v = w.value;
        access(w.port, false, &v);
    }
    u64 const end = r.now_us;
    good_port.set_answers(true);
    u32 status = 0;
    access(0x1F7, true, &status);
    EXPECT_TRUE(status & 0x01) << "the read fails after the outage: status " << status;
    EXPECT_GE(end - start, 1'000'000u) << "the command waited out the target's timeout";
    ASSERT_FALSE(r.timer_runs.empty()) << "the clock's jobs never ran during the wait";
    u64 prev = start, longest = 0;
    for (u64 t : r.timer_runs) {
        longest = std::max(longest, t - prev);
        prev = t;
    }
    longest = std::max(longest, end - prev);
    EXPECT_LE(longest, 10'000u) << "the longest stretch of the wait without the clock's jobs";
}

TEST_F(AoeDiskInstallGlue, WithoutANetworkSectionNothingIsHooked) {
    EXPECT_EQ(no_network.status, Status::Ok);
    EXPECT_FALSE(no_network.hooked);
    EXPECT_EQ(no_network.drives, 0u);
}

TEST_F(AoeDiskInstallGlue, WithoutAMonitorPortNothingIsHooked) {
    EXPECT_EQ(no_port.status, Status::Ok);
    EXPECT_FALSE(no_port.hooked);
    EXPECT_TRUE(registries().logged("aoe-disk: [aoe] configured but the monitor has no network: no AoE disk"));
}

// The guest then boots without the disk rather than with a disk that cannot answer.
TEST_F(AoeDiskInstallGlue, ATargetThatDoesNotAnswerLeavesNothingHooked) {
    EXPECT_EQ(silent.status, Status::Ok);
    EXPECT_FALSE(silent.hooked);
    EXPECT_EQ(silent.drives, 0u);
    EXPECT_TRUE(registries().logged("aoe-disk: target e1.2 did not answer within 1000 ms: no AoE disk"));
}

TEST_F(AoeDiskInstallGlue, AConfigurationTheInitiatorRefusesFailsTheAttach) {
    EXPECT_EQ(bad_mtu.status, Status::Invalid);
    ASSERT_NE(bad_mtu.failed, nullptr);
    EXPECT_STREQ(bad_mtu.failed, "aoe-disk");
    EXPECT_FALSE(bad_mtu.hooked);
    EXPECT_TRUE(registries().logged("aoe-disk: initiator refused its configuration"));
}

TEST_F(AoeDiskInstallGlue, KeysThatCannotBeLoadedFailTheAttachBeforeAnyHook) {
    EXPECT_EQ(no_keys.status, Status::Invalid);
    ASSERT_NE(no_keys.failed, nullptr);
    EXPECT_STREQ(no_keys.failed, "aoe-disk");
    EXPECT_FALSE(no_keys.hooked);
    EXPECT_EQ(no_keys.drives, 0u);
}

}  // namespace
