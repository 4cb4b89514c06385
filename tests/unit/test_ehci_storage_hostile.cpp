// The EHCI mass-storage path against a hostile or racing world: the controller completing
// qTDs while the monitor writes completions back, a stick readdressed (a device reset, or
// another device at the same address), Bulk-Only exchanges the guest desynchronizes.
#include <algorithm>

#include "tests/unit/test_ehci_stick_rig.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;
namespace {

// A hook that tags every qTD (by its buffer) and records which completions it was told of; the
// first completion it hears of lets the controller run on, as a real controller does while the
// monitor syncs.
class WatchHook final : public EhciQtdHook {
  public:
    explicit WatchHook(FakeEhci& fake) : f(fake) {}
    char const* give(u32, Qtd const& g, Qtd*, u16* tag) override {
        *tag = static_cast<u16>(1 + (g.buffer[0] >> 12));
        return nullptr;
    }
    void batch_end(u32) override {}
    bool ready(u32, u16) const override { return true; }
    void completed(u32, u16 tag, u32) override {
        seen.push_back(tag);
        if (run_on_first) {
            run_on_first = false;
            f.budget = ~0u;
            f.run();
        }
    }
    bool release(u32, u16) const override { return true; }

    FakeEhci& f;
    std::vector<u16> seen;
    bool run_on_first{false};
};

}  // namespace

// The controller runs while the monitor writes completions back: a qTD it finished after the
// hook's pass looked at it must wait for the next sync, or the guest would see it complete
// before its bounced data (a CSW, a descriptor) was copied to the guest's buffer.
TEST(EhciScheduleHook, NoCompletionReachesTheGuestBeforeTheHookSawIt) {
    FakeEhci f;
    WatchHook hook(f);
    auto s = std::make_unique<tv::usb::EhciSchedule>();
    ASSERT_TRUE(s->init(&f, f.mem()));
    s->set_hook(&hook);
    constexpr u32 kHeadQh = 0x1000, kQh = 0x1040, kD0 = 0x2000, kB = 0x2020, kD1 = 0x2040, kB2 = 0x2060, kD2 = 0x2080;
    Qh& head = guest_qh(f.g, kHeadQh, kQh, true, kLinkTerminate, 0);
    head.overlay.token = kQtdHalted;
    guest_qh(f.g, kQh, kHeadQh, false, kD0);
    guest_qtd(f.g, kD0, kLinkTerminate, 0x10000, 0, QtdPid::Out, false);  // the QH's dummy
    f.async = s->set_head(kHeadQh);
    f.cmd = kCmdRun | kCmdAsync;
    // A transfer of two qTDs through the dummy (D0 becomes the first), run and written back.
    guest_qtd(f.g, kD1, kLinkTerminate, 0x12000, 0, QtdPid::Out, false);
    guest_qtd(f.g, kB, kD1, 0x11000, 64);
    guest_qtd(f.g, kD0, kB, 0x10000, 64);
    s->sync();
    f.run();
    s->sync();
    s->sync();
    // The next one: D1 becomes its first qTD, B2 takes the slot D0's copy left (a lower one).
    guest_qtd(f.g, kD2, kLinkTerminate, 0x14000, 0, QtdPid::Out, false);
    guest_qtd(f.g, kB2, kD2, 0x13000, 64);
    guest_qtd(f.g, kD1, kB2, 0x12000, 64);
    s->sync();
    f.budget = 1;  // the controller finishes D1 only, then B2 while the monitor hears of D1
    f.run();
    hook.seen.clear();
    hook.run_on_first = true;
    s->sync();
    auto const* b2 = reinterpret_cast<Qtd const*>(f.g.ram.data() + kB2);
    bool const b2_seen = std::find(hook.seen.begin(), hook.seen.end(), 1 + (0x13000 >> 12)) != hook.seen.end();
    EXPECT_TRUE(b2_seen || (b2->token & kQtdActive)) << "B2 shown complete before the hook heard of it";
    s->sync();
    EXPECT_FALSE(b2->token & kQtdActive);  // the next sync shows it
    EXPECT_NE(std::find(hook.seen.begin(), hook.seen.end(), 1 + (0x13000 >> 12)), hook.seen.end());
}

TEST_F(EhciMassStorage, AStickResetAndReaddressedKeepsItsVolumeOnceItsIdentityWasReadAgain) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const plain = pattern(4096, 5);
    ASSERT_TRUE(f.g.write(Gpa{kData}, plain.data(), plain.size()));
    ASSERT_EQ(command(2, cdb10(0x2A, 8, 8), false, 4096).status, 0);
    set_address();
    UsbStorage const* d = c->storage().device(kAddr);
    ASSERT_NE(d, nullptr);
    EXPECT_NE(d->endpoints_allowed(), nullptr);  // closed until the identity was read again
    control_in(0x0012000001000680, 18);
    EXPECT_NE(d->endpoints_allowed(), nullptr);  // the serial too
    control_in(0x00FF040903030680, 255);
    EXPECT_EQ(d->endpoints_allowed(), nullptr);
    std::vector<u8> zero(4096);
    ASSERT_TRUE(f.g.write(Gpa{kData}, zero.data(), zero.size()));
    EXPECT_EQ(command(3, cdb10(0x28, 8, 8), true, 4096).status, 0);  // no READ CAPACITY again (Linux sends none)
    EXPECT_EQ(guest(kData, 4096), plain);
}

TEST_F(EhciMassStorage, AnotherStickAtTheSameAddressIsFollowedFromScratch) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    set_address();
    stick.serial = "TVOTHER";
    control_in(0x0012000001000680, 18);
    control_in(0x00FF040903030680, 255);
    UsbStorage const* d = c->storage().device(kAddr);
    ASSERT_NE(d, nullptr);
    EXPECT_STREQ(d->identity().serial, "TVOTHER");
    EXPECT_FALSE(d->volume().attached());  // not the enrolled stick's volume
    EXPECT_NE(d->endpoints_allowed(), nullptr);  // its configuration is read afresh
}

TEST_F(EhciMassStorage, DataBeyondTheCbwsDataStageIsRefusedAndNothingPlainReachesTheStick) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const plain = pattern(8192, 11);
    ASSERT_TRUE(f.g.write(Gpa{kData}, plain.data(), plain.size()));
    Cbw w{kCbwSignature, 4, 4096, 0, 0, 10, {}};
    auto const cdb = cdb10(0x2A, 0, 8);
    memcpy(w.cb, cdb.data(), cdb.size());
    ASSERT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
    queue(out, {{QtdPid::Out, kCbwBuf, kCbwBytes}});
    step();
    auto at = queue(out, {{QtdPid::Out, kData, 4096}, {QtdPid::Out, kData + 4096, 4096}});  // twice the CBW's
    step();
    EXPECT_TRUE(done(at[0]) && !halted(at[0]));
    EXPECT_TRUE(halted(at[1]));
    EXPECT_TRUE(refused_with("not a CBW"));  // past the data stage a CBW is due
    EXPECT_EQ(stick.ops, (std::vector<u8>{0x25, 0x2A}));  // the stick got no other command
    std::vector<u8> const first(plain.begin(), plain.begin() + 4096);
    EXPECT_EQ(std::vector<u8>(stick.disk.begin(), stick.disk.begin() + 4096), xts(true, 0, first));
    auto const tail = std::vector<u8>(plain.begin() + 4096, plain.begin() + 4096 + 64);
    EXPECT_EQ(std::search(stick.disk.begin(), stick.disk.end(), tail.begin(), tail.end()), stick.disk.end());
}

TEST_F(EhciMassStorage, ABulkOutQtdOfOtherThan31BytesWhereACbwIsDueIsRefused) {
    enroll("TVEHCI1");
    enumerate();
    auto at = queue(out, {{QtdPid::Out, kCbwBuf, 30}});
    step();
    EXPECT_TRUE(halted(at[0]));
    EXPECT_TRUE(stick.ops.empty());
    EXPECT_TRUE(refused_with("not a CBW"));
}
