// USB mass storage through the storage pipeline, against the fake controller: descriptors
// bounced and parsed, CBWs copied, writes sealed before the device sees them, reads unsealed
// before the guest sees the event, refused commands failing with their sense, the policy.
#include "tests/unit/test_usb_storage_rig.hpp"

#include "crypto/xts.hpp"
#include "storage/write_rule.hpp"
#include "test_policy_keys.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

storage::KeyEntry g_key;

void enroll(char const* serial) {
    g_key = usb_key(serial);
    ASSERT_EQ(storage::set_keys(&g_key, 1, true), Status::Ok);
}
void no_keys() { ASSERT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok); }

std::vector<u8> plaintext(u32 bytes, u8 seed) {
    std::vector<u8> v(bytes);
    for (u32 i = 0; i < bytes; ++i) v[i] = static_cast<u8>(seed + i * 31);
    return v;
}

std::vector<u8> xts(bool encrypt, u64 lba, std::vector<u8> v) {
    crypto::Xts x;
    EXPECT_EQ(x.set_key(g_key.master_key), Status::Ok);
    u64 const n = v.size() / 512;
    EXPECT_EQ(encrypt ? x.encrypt_sectors(Lba{lba}, 512, v.data(), v.data(), n)
                      : x.decrypt_sectors(Lba{lba}, 512, v.data(), v.data(), n),
              Status::Ok);
    return v;
}

std::vector<u8> guest_bytes(StickRig& r, u64 at, u32 n) {
    std::vector<u8> v(n);
    EXPECT_TRUE(r.g().read(Gpa{at}, v.data(), n));
    return v;
}

}  // namespace

TEST(UsbStorage, DescriptorsAreBouncedAndTheGuestGetsTheDevicesBytes) {
    no_keys();
    StickRig r;
    r.address();
    u64 const data = r.control_in(0x0012000001000680, StickRig::device_descriptor());
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(data).param));  // the device wrote into the monitor
    EXPECT_EQ(guest_bytes(r, kSBuf, 18), StickRig::device_descriptor());
    EXPECT_EQ(r.x.usb_slot(1).identity().vendor, 0x46F4);
    (void)r.control_in(0x00FF040903030680, StickRig::string_descriptor("TVUSB1"));
    EXPECT_STREQ(r.x.usb_slot(1).identity().serial, "TVUSB1");
}

TEST(UsbStorage, BulkEndpointsOfADeviceWhoseConfigurationWasNotSeenAreRefused) {
    no_keys();
    StickRig r;
    r.enumerate(false);
    size_t const doorbells = r.f().doorbells.size();
    (void)r.cbw(7, 0, false, {0, 0, 0, 0, 0, 0});
    EXPECT_EQ(r.f().doorbells.size(), doorbells);  // the device is not told
    EXPECT_TRUE(r.f().logged("configuration the monitor has not seen"));
}

TEST(UsbStorage, SetConfigurationOfAConfigurationNotSeenIsRefused) {
    no_keys();
    StickRig r;
    r.enumerate();
    r.control_out(0x0000000000020900);  // SET_CONFIGURATION 2
    EXPECT_TRUE(r.f().logged("SET_CONFIGURATION of a configuration the monitor has not seen"));
}

TEST(UsbStorage, TheDeviceReadsTheMonitorsCopyOfTheCbw) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    u64 const t = r.cbw(9, 0, false, {0, 0, 0, 0, 0, 0});
    Trb const& s = r.dev_trb(t);
    EXPECT_TRUE(r.f().in_dma(s.param));
    r.g().ram[kSBuf + 4] ^= 0xFF;  // the guest rewrites its CBW's tag after the doorbell
    Cbw seen{};
    memcpy(&seen, r.dev(s.param), sizeof seen);
    EXPECT_EQ(seen.tag, 9u);
}

TEST(UsbStorage, AnEncryptedWriteReachesTheDeviceSealedAndARewriteAfterTheDoorbellChangesNothing) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    r.read_capacity();
    std::vector<u8> const plain = plaintext(4096, 3);
    ASSERT_TRUE(r.g().write(Gpa{kSData}, plain.data(), plain.size()));
    (void)r.cbw(2, 4096, false, cdb10(0x2A, 100, 8));
    u64 const a = r.out_trb(kSData, 3072, kTrbChain);
    u64 const b = r.out_trb(kSData + 3072, 1024);
    memset(r.g().ram.data() + kSData, 0xEE, 4096);  // rewritten after the doorbell
    std::vector<u8> seen(r.dev(r.dev_trb(a).param), r.dev(r.dev_trb(a).param) + 3072);
    seen.insert(seen.end(), r.dev(r.dev_trb(b).param), r.dev(r.dev_trb(b).param) + 1024);
    EXPECT_FALSE(r.f().in_dma(r.dev_trb(a).param));  // a bounce, not the guest's buffer
    EXPECT_EQ(seen, xts(true, 100, plain));
    r.transfer_event(b, kDciOut, Completion::Success);
    EXPECT_EQ(r.csw(2).status, 0);
}

TEST(UsbStorage, AnEncryptedReadIsDecryptedBeforeTheGuestSeesTheEvent) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    r.read_capacity();
    std::vector<u8> const plain = plaintext(2048, 9);
    std::vector<u8> const cipher = xts(true, 40, plain);
    (void)r.cbw(3, 2048, true, cdb10(0x28, 40, 4));
    u64 const a = r.in_trb(kSData, 1536, kTrbChain);
    u64 const b = r.in_trb(kSData + 1536, 512);
    memcpy(r.dev(r.dev_trb(a).param), cipher.data(), 1536);
    memcpy(r.dev(r.dev_trb(b).param), cipher.data() + 1536, 512);
    EXPECT_EQ(guest_bytes(r, kSData, 2048), std::vector<u8>(2048, 0));  // nothing before the event
    r.transfer_event(b, kDciIn, Completion::Success);
    EXPECT_EQ(guest_bytes(r, kSData, 2048), plain);
    EXPECT_EQ(r.last_transfer_event()->param, kSBulkIn + 16 * (r.in_i - 1));
    EXPECT_EQ(r.dev(r.dev_trb(a).param)[0], 0);  // no plaintext left where the device reaches
}

TEST(UsbStorage, AShortReadHandsOverOnlyTheWholeSectorsThatArrived) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    r.read_capacity();
    std::vector<u8> const cipher = xts(true, 0, plaintext(2048, 1));
    (void)r.cbw(4, 2048, true, cdb10(0x28, 0, 4));
    u64 const a = r.in_trb(kSData, 2048);
    memcpy(r.dev(r.dev_trb(a).param), cipher.data(), 2048);
    r.transfer_event(a, kDciIn, Completion::ShortPacket, 2048 - 700);  // 700 bytes arrived
    std::vector<u8> got = guest_bytes(r, kSData, 1024);
    std::vector<u8> want = plaintext(2048, 1);
    EXPECT_TRUE(std::equal(got.begin(), got.begin() + 512, want.begin()));
    EXPECT_EQ(std::vector<u8>(got.begin() + 512, got.end()), std::vector<u8>(512, 0));
}

TEST(UsbStorage, ARefusedCommandRunsAsTestUnitReadyAndFailsWithItsSense) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    r.read_capacity();
    u64 const t = r.cbw(5, 0, false, {0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0});  // UNMAP
    Cbw seen{};
    memcpy(&seen, r.dev(r.dev_trb(t).param), sizeof seen);
    EXPECT_EQ(seen.cb[0], 0x00);
    EXPECT_EQ(seen.cb_length, 6);
    Csw const w = r.csw(5, 0);  // the device ran TEST UNIT READY fine
    EXPECT_EQ(w.status, static_cast<u8>(CswStatus::Failed));
    EXPECT_TRUE(r.f().logged("UNMAP"));
    // Linux asks why: the sense is the refusal's, not the device's.
    (void)r.cbw(6, 18, true, {0x03, 0, 0, 0, 18, 0});
    u64 const s = r.in_trb(kSData, 18);
    u8 dev_sense[18] = {0x70, 0, 0, 0, 0, 0, 0, 10};
    memcpy(r.dev(r.dev_trb(s).param), dev_sense, sizeof dev_sense);
    r.transfer_event(s, kDciIn, Completion::Success);
    std::vector<u8> const sense = guest_bytes(r, kSData, 18);
    EXPECT_EQ(sense[2], 0x07);  // DATA PROTECT
    EXPECT_EQ(sense[12], 0x27);
    EXPECT_EQ(r.csw(6).status, 0);
}

TEST(UsbStorage, ARefusedWritesDataGoesToTheSinkNotTheDevice) {
    enroll("TVUSB1");
    StickRig r(UsbRule::ReadOnly);
    r.enumerate();
    r.read_capacity();
    std::vector<u8> const plain = plaintext(1024, 5);
    ASSERT_TRUE(r.g().write(Gpa{kSData}, plain.data(), plain.size()));
    (void)r.cbw(7, 1024, false, cdb10(0x2A, 8, 2));
    u64 const d = r.out_trb(kSData, 1024);
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(d).param));  // the monitor's sink
    EXPECT_NE(memcmp(r.dev(r.dev_trb(d).param), plain.data(), 1024), 0);
    r.transfer_event(d, kDciOut, Completion::Success);
    EXPECT_EQ(r.csw(7).status, static_cast<u8>(CswStatus::Failed));
    EXPECT_TRUE(r.f().logged("sense 07/27/00"));
}

TEST(UsbStorage, ReadOnlyStillReadsThroughThePipeline) {
    enroll("TVUSB1");
    StickRig r(UsbRule::ReadOnly);
    r.enumerate();
    r.read_capacity();
    std::vector<u8> const plain = plaintext(512, 2);
    (void)r.cbw(8, 512, true, cdb10(0x28, 7, 1));
    u64 const a = r.in_trb(kSData, 512);
    std::vector<u8> const cipher = xts(true, 7, plain);
    memcpy(r.dev(r.dev_trb(a).param), cipher.data(), 512);
    r.transfer_event(a, kDciIn, Completion::Success);
    EXPECT_EQ(guest_bytes(r, kSData, 512), plain);
}

TEST(UsbStorage, AnUnknownStickUnderEncryptIsRefusedAsNoMedium) {
    enroll("TVUSB1");
    StickRig r(UsbRule::Encrypt, "STRANGER");
    r.enumerate();
    (void)r.cbw(1, 8, true, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    u64 const t = r.in_trb(kSBuf + 0x400, 8);
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(t).param));  // the sink
    r.transfer_event(t, kDciIn, Completion::Success);
    EXPECT_EQ(r.csw(1).status, static_cast<u8>(CswStatus::Failed));
    EXPECT_TRUE(r.f().logged("not listed: refused (not enrolled)"));
    EXPECT_TRUE(r.f().logged("sense 02/3a/00"));
}

TEST(UsbStorage, AnEnrolledStickUnderEncryptIsEncrypted) {
    enroll("TVUSB1");
    StickRig r(UsbRule::Encrypt);
    r.enumerate();
    r.read_capacity();
    EXPECT_TRUE(r.x.usb_slot(1).volume().active());
    EXPECT_TRUE(r.f().logged("policy encrypt, key listed: encrypted"));
}

TEST(UsbStorage, APlaintextStickUnderAllowMovesDataDirectly) {
    no_keys();
    StickRig r;
    r.enumerate();
    r.read_capacity();
    (void)r.cbw(2, 512, false, cdb10(0x2A, 1, 1));
    u64 const d = r.out_trb(kSData, 512);
    EXPECT_EQ(r.dev_trb(d).param, kSData);
}

TEST(UsbStorage, MediaCommandsBeforeTheCapacityIsKnownAreRefused) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    (void)r.cbw(2, 512, false, cdb10(0x2A, 1, 1));
    u64 const d = r.out_trb(kSData, 512);
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(d).param));
    r.transfer_event(d, kDciOut, Completion::Success);
    EXPECT_EQ(r.csw(2).status, static_cast<u8>(CswStatus::Failed));
}

TEST(UsbStorage, ASectorSplitAcrossDoorbellsNeverReachesTheDeviceUnsealed) {
    enroll("TVUSB1");
    StickRig r;
    r.enumerate();
    r.read_capacity();
    std::vector<u8> const plain = plaintext(1024, 4);
    ASSERT_TRUE(r.g().write(Gpa{kSData}, plain.data(), plain.size()));
    (void)r.cbw(2, 1024, false, cdb10(0x2A, 0, 2));
    u64 const a = r.out_trb(kSData, 700, kTrbChain);  // its own doorbell: 188 bytes of sector 1 unsealed
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(a).param));      // so the device gets the sink instead
    EXPECT_TRUE(r.f().logged("never sent unsealed"));
}

TEST(UsbStorage, AUasOnlyStickIsRefused) {
    no_keys();
    StickRig r;
    r.address();
    (void)r.control_in(0x0012000001000680, StickRig::device_descriptor());
    (void)r.control_in(0x0020000002000680, StickRig::config_descriptor(0x62));
    EXPECT_NE(r.x.usb_slot(1).endpoint_allowed(kDciOut), nullptr);
}

TEST(UsbStorage, TheConfigurationDescriptorNamesTheBulkEndpoints) {
    ConfigInfo c{};
    std::vector<u8> const d = StickRig::config_descriptor();
    ASSERT_EQ(parse_config_descriptor(d.data(), static_cast<u32>(d.size()), &c), nullptr);
    EXPECT_TRUE(c.storage);
    EXPECT_TRUE(c.bot);
    EXPECT_EQ(c.bulk_in, 0x81);
    EXPECT_EQ(c.bulk_out, 0x02);
    EXPECT_EQ(endpoint_dci(c.bulk_in), kDciIn);
    EXPECT_NE(parse_config_descriptor(d.data(), 20, &c), nullptr);  // cut short
}

TEST(UsbStorage, AOneMiBTransferOfPagesFitsTheShadowRingInOneDoorbell) {
    no_keys();
    StickRig r;
    r.address();
    // 256 chained pieces, as Linux queues a 1 MiB bulk transfer: all copied at one doorbell,
    // since a device that starts a TD only once it is whole (QEMU) would otherwise wait forever.
    for (u32 i = 0; i < 256; ++i)
        r.g().put(kSEp0 + i * 16, TrbType::Normal, true, kSData, 8, i == 255 ? kTrbIoc : kTrbChain);
    r.x.write(kDb + 4, 4, 1);
    EXPECT_EQ(trb_type(r.dev_trb(r.ep0_shadow + 255 * 16)), TrbType::Normal);
    EXPECT_EQ(r.x.counters().trbs, 256u);
}

TEST(UsbStorage, WhenTheGuestOutrunsTheShadowRingTheMonitorsOwnEventIsSwallowed) {
    no_keys();
    StickRig r;
    r.address();
    constexpr u32 kN = 600;
    for (u32 i = 0; i < kN; ++i)
        r.g().put(kSEp0 + i * 16, TrbType::Normal, true, kSData, 8, i + 1 == kN ? kTrbIoc : kTrbChain);
    r.x.write(kDb + 4, 4, 1);
    u64 const copied = r.x.counters().trbs;
    ASSERT_LT(copied, u64{kN});
    Trb const& last = r.dev_trb(r.ep0_shadow + (copied - 1) * 16);
    EXPECT_TRUE(last.control & kTrbIoc);  // the monitor asks the device to say when it got there
    u32 const before = r.f().doorbells.size() ? static_cast<u32>(r.f().doorbells.size()) : 0;
    r.transfer_event(r.ep0_shadow + (copied - 1) * 16, 1, Completion::Success);
    EXPECT_EQ(r.last_transfer_event(), nullptr);  // never the guest's
    EXPECT_EQ(r.x.counters().events_dropped, 0u);
    EXPECT_EQ(r.x.counters().trbs, u64{kN});  // the rest followed at once
    EXPECT_GT(r.f().doorbells.size(), before);
}

TEST(UsbStorage, ADeniedStickIsRefusedEvenWhenEnrolled) {
    enroll("TVUSB1");
    StickRig r(UsbRule::Deny);
    r.enumerate();
    (void)r.cbw(1, 8, true, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0});
    u64 const t = r.in_trb(kSBuf + 0x400, 8);
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(t).param));
    r.transfer_event(t, kDciIn, Completion::Success);
    EXPECT_EQ(r.csw(1).status, static_cast<u8>(CswStatus::Failed));
    EXPECT_TRUE(r.f().logged("policy deny, key listed: refused"));
}

// `deny` hides the device (issue 16): once its identity is known (its first mass-storage
// command), its port reads as empty with a connect change, one Port Status Change event tells
// the guest, the real port is left alone, and the port is the device's again once it is gone.
TEST(UsbStorage, ADeniedStickIsShownDisconnectedAfterItsFirstCommand) {
    no_keys();
    StickRig r(UsbRule::Deny);
    constexpr u32 kPortsc = kOp + kPortRegs;  // root port 1
    constexpr u32 kCcs = 1u << 0, kPed = 1u << 1, kCsc = 1u << 17;
    r.f().regs[kPortsc] = kCcs | kPed | 1u << 9 | 3u << 10;  // connected, enabled, powered, high speed
    r.enumerate();
    u64 const out = reinterpret_cast<u64 const*>(r.dev(r.f().device_dcbaap()))[1];
    reinterpret_cast<SlotContext*>(r.dev(out))->dw[1] |= 1u << 16;  // the device's slot: root port 1
    EXPECT_EQ(r.x.read(kPortsc, 4) & kCcs, kCcs) << "shown while its identity is not known";
    (void)r.cbw(1, 36, true, {0x12, 0, 0, 0, 36, 0});  // INQUIRY
    u64 const shown = r.x.read(kPortsc, 4);
    EXPECT_EQ(shown & (kCcs | kPed), 0u) << "no device, port disabled";
    EXPECT_EQ(shown & kCsc, kCsc) << "a connect status change to read";
    u32 psc = 0;
    for (u32 i = 0; i < kSEventTrbs && trb_cycle(r.guest_event(i)); ++i)
        if (trb_type(r.guest_event(i)) == TrbType::PortStatusChange && r.guest_event(i).param >> 24 == 1) ++psc;
    EXPECT_EQ(psc, 1u) << "one Port Status Change event for port 1";
    EXPECT_TRUE(r.f().logged("shown disconnected"));
    r.x.write(kPortsc, 4, kCsc);  // the guest acknowledges the change
    EXPECT_EQ(r.x.read(kPortsc, 4) & kCsc, 0u);
    // The real port got only the acknowledgement: no reset (PR), no disable (PED is write-1-to-
    // clear; the fake stores what was written, so 0 there means it was not asked).
    EXPECT_EQ(r.f().regs[kPortsc] & (1u << 4 | kPed | kCsc), kCsc);
    Trb ev{u64{1} << 24, 1u << 24, 0};
    set_trb_type(ev, TrbType::PortStatusChange);
    r.f().event(ev);  // the device's own event while it is still there: not the guest's
    r.drain();
    u32 n = 0;
    for (u32 i = 0; i < kSEventTrbs && trb_cycle(r.guest_event(i)); ++i) {
        if (trb_type(r.guest_event(i)) == TrbType::PortStatusChange) ++n;
    }
    EXPECT_EQ(n, 1u) << "the device's own event for the hidden port was delivered";
    r.f().regs[kPortsc] = 1u << 9 | kCsc;  // unplugged
    r.f().event(ev);
    r.drain();
    EXPECT_EQ(r.x.read(kPortsc, 4), u64{1u << 9 | kCsc}) << "the port is the device's again";
}

namespace {
std::vector<storage::RuleHit> g_hits;
void record_hit(storage::RuleHit const& h) { g_hits.push_back(h); }
}  // namespace

// File protection on a stick (issue 18): a USB policy's ranges are judged at the CBW, with the
// audit line and count of the other buses; a write elsewhere and one to an audit range pass.
TEST(UsbStorage, AWriteToAProtectedRangeOfTheSticksPolicyFailsWithDataProtectAndIsAudited) {
    no_keys();
    policy::Range const ranges[] = {{8 * 512 + 100, 50, policy::Action::Protect, "/autorun.inf"},
                                    {30 * 512, 512, policy::Action::Audit, "/log"}};
    auto const bytes = policy_test::make_policy(ranges, 2, 2, "TVUSB1", policy_test::kAdminKey, policy::PolicyBus::Usb);
    policy::PolicyView view;
    ASSERT_EQ(policy::parse_policy(bytes.data(), bytes.size(), view), policy::ParseError::None);
    storage::set_policy_in_force(&view);
    storage::set_audit_sink(record_hit);
    g_hits.clear();
    StickRig r;
    r.enumerate();
    r.read_capacity();  // the volume attaches with its rules
    std::vector<u8> const plain = plaintext(1024, 9);
    ASSERT_TRUE(r.g().write(Gpa{kSData}, plain.data(), plain.size()));
    (void)r.cbw(7, 1024, false, cdb10(0x2A, 7, 2));  // sectors 7-8: sector 8 holds the range
    u64 const d = r.out_trb(kSData, 1024);
    EXPECT_TRUE(r.f().in_dma(r.dev_trb(d).param)) << "the data goes to the monitor's sink";
    r.transfer_event(d, kDciOut, Completion::Success);
    EXPECT_EQ(r.csw(7).status, static_cast<u8>(CswStatus::Failed));
    EXPECT_TRUE(r.f().logged("sense 07/27/00"));
    ASSERT_EQ(g_hits.size(), 1u);
    EXPECT_TRUE(g_hits[0].refused);
    EXPECT_EQ(g_hits[0].lba, 8u);
    EXPECT_EQ(g_hits[0].disk->bus, storage::Bus::Usb);
    (void)r.cbw(8, 512, false, cdb10(0x2A, 20, 1));  // no range
    u64 const e = r.out_trb(kSData, 512);
    EXPECT_EQ(r.dev_trb(e).param, kSData) << "a plaintext stick's free sectors go zero-copy";
    r.transfer_event(e, kDciOut, Completion::Success);
    EXPECT_EQ(r.csw(8).status, 0);
    (void)r.cbw(9, 512, false, cdb10(0x2A, 30, 1));  // the audit range: allowed, logged
    u64 const a = r.out_trb(kSData, 512);
    r.transfer_event(a, kDciOut, Completion::Success);
    EXPECT_EQ(r.csw(9).status, 0);
    ASSERT_EQ(g_hits.size(), 2u);
    EXPECT_FALSE(g_hits[1].refused);
    EXPECT_EQ(g_hits[1].action, policy::Action::Audit);
    storage::set_policy_in_force(nullptr);
    storage::set_audit_sink(nullptr);
}
