// USB mass storage on EHCI (drivers/usb/ehci_storage.hpp) through the shared Bulk-Only part
// (usb_storage.hpp), against the fake controller with a stick behind it (test_ehci_stick_rig.hpp):
// the controller runs only the monitor's shadow, the stick moves the bytes its buffers name.
#include "tests/unit/test_ehci_stick_rig.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

TEST_F(EhciMassStorage, DescriptorsAreBouncedParsedAndCopiedToTheGuest) {
    control_in(0x0012000001000680, 18);
    EXPECT_EQ(guest(kDescBuf, 2), (std::vector<u8>{18, 1}));
    EXPECT_TRUE(f.bad_buffers.empty());
    control_in(0x00FF040903030680, 255);
    UsbStorage const* d = c->storage().device(kAddr);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->identity().vendor, 0x46F4);
    EXPECT_STREQ(d->identity().serial, "TVEHCI1");
}

TEST_F(EhciMassStorage, BulkEndpointsOfADeviceWhoseConfigurationWasNotSeenAreRefused) {
    control_in(0x0012000001000680, 18);
    auto at = queue(out, {{QtdPid::Out, kCbwBuf, kCbwBytes}});
    step();
    EXPECT_TRUE(halted(at[0]));
    EXPECT_TRUE(stick.ops.empty());
    EXPECT_TRUE(refused_with("configuration the monitor has not seen"));
}

TEST_F(EhciMassStorage, AnEncryptedWriteReachesTheStickSealedAndReadsBackPlain) {
    enroll("TVEHCI1");
    enumerate();
    capacity();  // the first command: the policy is asked and logged
    EXPECT_TRUE(noted("usb device 2: 46f4:0001 serial 'TVEHCI1': mass storage, policy allow, key listed: encrypted"));
    std::vector<u8> const plain = pattern(48 * 1024, 7);  // three qTDs of 16 KiB
    ASSERT_TRUE(f.g.write(Gpa{kData}, plain.data(), plain.size()));
    Csw s = command(2, cdb10(0x2A, 16, 96), false, 48 * 1024);
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(s.tag, 2u);
    std::vector<u8> const on_disk(stick.disk.begin() + 16 * 512, stick.disk.begin() + 112 * 512);
    EXPECT_EQ(on_disk, xts(true, 16, plain));  // sealed, the LBA as tweak
    for (u32 at : data_tds) EXPECT_TRUE(done(at) && !halted(at));
    std::vector<u8> zero(plain.size());
    ASSERT_TRUE(f.g.write(Gpa{kData}, zero.data(), zero.size()));
    s = command(3, cdb10(0x28, 16, 96), true, 48 * 1024);
    EXPECT_EQ(s.status, 0);
    EXPECT_EQ(guest(kData, 48 * 1024), plain);
    EXPECT_TRUE(f.bad_buffers.empty());
    EXPECT_TRUE(f.strays.empty());
    EXPECT_TRUE(f.refusals.empty()) << f.refusals[0];
}

TEST_F(EhciMassStorage, ReadDataReachesTheGuestOnlyWhenTheWholeDataStageCompleted) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const plain = pattern(32 * 1024, 3);
    std::vector<u8> const sealed = xts(true, 0, plain);
    memcpy(stick.disk.data(), sealed.data(), sealed.size());
    Cbw w{kCbwSignature, 5, 32 * 1024, 0x80, 0, 10, {}};
    auto const cdb = cdb10(0x28, 0, 64);
    memcpy(w.cb, cdb.data(), cdb.size());
    ASSERT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
    queue(out, {{QtdPid::Out, kCbwBuf, kCbwBytes}});
    step();
    std::vector<u8> zero(32 * 1024);
    ASSERT_TRUE(f.g.write(Gpa{kData}, zero.data(), zero.size()));
    auto at = queue(in, {{QtdPid::In, kData, 16384}, {QtdPid::In, kData + 16384, 16384}});
    c->tick();
    f.budget = 1;  // the controller gets through the first qTD only
    f.run();
    (void)c->read(kSts, 4);
    EXPECT_FALSE(done(at[0]));  // held back: its sectors are still sealed in the bounce
    EXPECT_EQ(guest(kData, 16), std::vector<u8>(16));
    f.budget = ~0u;
    f.run();
    (void)c->read(kSts, 4);
    EXPECT_TRUE(done(at[0]) && done(at[1]));
    EXPECT_EQ(guest(kData, 32 * 1024), plain);
}

TEST_F(EhciMassStorage, WriteSameIsRefusedTheStickRunsTestUnitReadyAndTheGuestGetsItsSense) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const before = stick.disk;
    Csw s = command(4, {0x41, 0, 0, 0, 0, 0, 0, 0, 8, 0}, false, 512);
    EXPECT_EQ(s.status, 1);             // failed
    EXPECT_EQ(s.residue, 512u);
    EXPECT_EQ(stick.ops.back(), 0x00);  // the stick was given TEST UNIT READY
    EXPECT_EQ(stick.disk, before);
    EXPECT_TRUE(refused_with("WRITE SAME(10) (sense 07/27/00)"));
    std::vector<u8> const sn = sense();
    EXPECT_EQ(sn[2], 0x07);
    EXPECT_EQ(sn[12], 0x27);
}

TEST_F(EhciMassStorage, UnderReadOnlyAWriteFailsWithDataProtectAndItsDataGoesToTheSink) {
    f.rule = UsbRule::ReadOnly;
    enroll("TVEHCI1");
    enumerate();
    capacity();
    EXPECT_TRUE(noted("policy read-only, key listed: read-only, encrypted"));
    std::vector<u8> const before = stick.disk;
    std::vector<u8> const plain = pattern(8192, 9);
    ASSERT_TRUE(f.g.write(Gpa{kData}, plain.data(), plain.size()));
    Csw s = command(6, cdb10(0x2A, 0, 16), false, 8192);
    EXPECT_EQ(s.status, 1);
    EXPECT_EQ(stick.disk, before);
    std::vector<u8> const sn = sense();
    EXPECT_EQ(sn[2], 0x07);  // DATA PROTECT
    EXPECT_EQ(sn[12], 0x27); // WRITE PROTECTED
    s = command(7, cdb10(0x28, 0, 16), true, 8192);
    EXPECT_EQ(s.status, 0);  // reads still pass, decrypted
    EXPECT_EQ(guest(kData, 8192), xts(false, 0, std::vector<u8>(before.begin(), before.begin() + 8192)));
}

TEST_F(EhciMassStorage, AnUnknownStickUnderEncryptHasNoMedium) {
    f.rule = UsbRule::Encrypt;
    enumerate();
    Csw s = command(1, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 8);
    EXPECT_EQ(s.status, 1);
    EXPECT_TRUE(noted("policy encrypt, key not listed: refused (not enrolled)"));
    std::vector<u8> const sn = sense();
    EXPECT_EQ(sn[2], 0x02);
    EXPECT_EQ(sn[12], 0x3A);  // MEDIUM NOT PRESENT
}

TEST_F(EhciMassStorage, ADeniedStickIsRefusedEvenWhenEnrolled) {
    f.rule = UsbRule::Deny;
    enroll("TVEHCI1");
    enumerate();
    EXPECT_EQ(command(1, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 8).status, 1);
    EXPECT_TRUE(noted("policy deny, key listed: refused"));
    EXPECT_TRUE(c->storage().device(kAddr)->denied());
}

TEST_F(EhciMassStorage, ACbwOrQtdRewrittenAfterTheControllerWasGivenTheShadowChangesNothing) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const before = stick.disk;
    Cbw w{kCbwSignature, 8, 512, 0x80, 0, 10, {}};
    auto const cdb = cdb10(0x28, 0, 1);
    memcpy(w.cb, cdb.data(), cdb.size());
    ASSERT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
    auto at = queue(out, {{QtdPid::Out, kCbwBuf, kCbwBytes}});
    c->tick();  // the shadow is given
    // The guest makes it a WRITE(10) of its data and points the qTD into the monitor.
    auto const evil = cdb10(0x2A, 0, 1);
    memcpy(w.cb, evil.data(), evil.size());
    w.flags = 0;
    ASSERT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
    td(at[0]).buffer[0] = 0x80000;
    f.run();
    (void)c->read(kSts, 4);
    ASSERT_FALSE(stick.ops.empty());
    EXPECT_EQ(stick.ops.back(), 0x28);  // the stick read the monitor's copy
    EXPECT_EQ(stick.cbw.flags, 0x80);
    EXPECT_TRUE(f.bad_buffers.empty());
    EXPECT_EQ(td(at[0]).buffer[0], kCbwBuf + kCbwBytes);  // written back: its own buffer, advanced
    EXPECT_EQ(stick.disk, before);
}

TEST_F(EhciMassStorage, TheGuestNeverSeesTheMonitorsBufferAddresses) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    (void)command(9, cdb10(0x28, 0, 8), true, 4096);
    u32 const mon = kDmaBase & kBufferPageMask;
    for (u32 a = 0x2000; a < next_td_; a += 32)
        for (u32 b = 0; b < 5; ++b) EXPECT_LT(td(a).buffer[b], mon) << "qTD " << std::hex << a;
    for (u32 q : {kCtlQh, kOutQh, kInQh})
        for (u32 b = 0; b < 5; ++b) {
            Qh const& h = *reinterpret_cast<Qh*>(f.g.ram.data() + q);
            EXPECT_LT(h.overlay.buffer[b], mon) << "QH " << std::hex << q;
        }
    EXPECT_EQ(td(csw_td).buffer[0] & 0xFFF, (kCswBuf + kCswBytes) & 0xFFF);  // the guest's offset, advanced
}


// A hostile guest links the stick's bulk-out endpoint as an interrupt QH in the periodic
// schedule and sends a WRITE(10) there: the periodic shadow's qTDs go through the same
// mass-storage path, so the data reaches the stick sealed, never in plaintext.
TEST_F(EhciMassStorage, ABulkCommandThroughThePeriodicScheduleIsJudgedToo) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const plain = pattern(4096, 9);
    ASSERT_TRUE(f.g.write(Gpa{kData}, plain.data(), plain.size()));
    Cbw w{kCbwSignature, 7, 4096, 0, 0, 10, {}};
    std::vector<u8> const cdb = cdb10(0x2A, 16, 8);
    memcpy(w.cb, cdb.data(), cdb.size());
    ASSERT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
    constexpr u32 kList = 0x30000, kPerQh = 0x31000, kCbwTd = 0x31100, kDataTd = 0x31120;
    for (u32 k = 0; k < kFrameListEntries; ++k)
        *reinterpret_cast<u32*>(f.g.ram.data() + kList + 4 * k) = k ? kLinkTerminate : qh_link(kPerQh);
    Qh& p = qh(kPerQh, 0, kEpOut, kCbwTd);
    p.hlink = kLinkTerminate;
    p.epcap = (1u << 30) | 1;
    guest_qtd(f.g, kCbwTd, kDataTd, kCbwBuf, kCbwBytes, QtdPid::Out);
    guest_qtd(f.g, kDataTd, kLinkTerminate, kData, 4096, QtdPid::Out);
    c->write(kOpBase + op(EhciOp::PeriodicListBase), 4, kList);
    c->write(kCmd, 4, kCmdRun | kCmdAsync | kCmdPeriodic);
    f.run_frame(0);
    (void)c->read(kSts, 4);
    c->tick();
    f.run_frame(1024);
    std::vector<u8> const on_disk(stick.disk.begin() + 16 * 512, stick.disk.begin() + 24 * 512);
    EXPECT_NE(on_disk, plain);
    EXPECT_TRUE(f.bad_buffers.empty());
}

namespace tv::usb::test {
namespace {

// A multi-LUN stick: LUN 0 is judged as any stick; a command for another LUN is refused and
// logged, whatever GET MAX LUN said, and the stick is given TEST UNIT READY instead.
TEST_F(EhciMassStorage, ACommandForALunOtherThanZeroIsRefusedAndLogged) {
    enroll("TVEHCI1");
    enumerate();
    capacity();
    std::vector<u8> const plain = pattern(512, 3);
    ASSERT_TRUE(f.g.write(Gpa{kData}, plain.data(), plain.size()));
    EXPECT_EQ(command(2, cdb10(0x2A, 4, 1), false, 512, kData, 16384, 1).status, 1);
    EXPECT_TRUE(refused_with("mass-storage command: WRITE(10) (sense 05/25/00)"));
    ASSERT_FALSE(stick.ops.empty());
    EXPECT_EQ(stick.ops.back(), 0x00);  // TEST UNIT READY
    EXPECT_EQ(std::vector<u8>(stick.disk.begin() + 4 * 512, stick.disk.begin() + 5 * 512), std::vector<u8>(512));
    std::vector<u8> const s = sense();
    EXPECT_EQ(s[2] & 0xF, 0x05);
    EXPECT_EQ(s[12], 0x25);
}

}  // namespace
}  // namespace tv::usb::test
