// USB mass storage on EHCI (drivers/usb/ehci_storage.hpp) through the shared Bulk-Only part
// (usb_storage.hpp), against the fake controller of test_ehci_fake.hpp with a stick behind it:
// the guest queues qTDs as Linux's ehci-hcd does (each transfer appended through the QH's
// inactive dummy qTD), the controller runs only the monitor's shadow, the stick moves the
// bytes the shadow's buffers name.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "crypto/xts.hpp"
#include "storage/key_table.hpp"
#include "tests/unit/test_ehci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

constexpr u32 kHead = 0x1000, kCtlQh = 0x1040, kOutQh = 0x1080, kInQh = 0x10C0;
constexpr u32 kSetupBuf = 0x10000, kCbwBuf = 0x10100, kCswBuf = 0x10200, kDescBuf = 0x11000;
constexpr u32 kData = 0x20000;  // up to 0x7FFFF: guest buffers for data stages
constexpr u8 kAddr = 2, kEpIn = 1, kEpOut = 2;
constexpr u32 kSts = kOpBase + op(EhciOp::UsbSts), kCmd = kOpBase + op(EhciOp::UsbCmd);
constexpr u32 kAsync = kOpBase + op(EhciOp::AsyncListAddr);
constexpr u32 kDiskSectors = 256;

storage::KeyEntry g_key;

void enroll(char const* serial) {
    g_key = storage::KeyEntry{};
    strcpy(g_key.serial, serial);
    g_key.bus = storage::Bus::Usb;
    g_key.data_unit = 512;
    for (u32 i = 0; i < 64; ++i) g_key.master_key[i] = static_cast<u8>(0x3C + i * 5);
    ASSERT_EQ(storage::set_keys(&g_key, 1, true), Status::Ok);
}
void no_keys() { ASSERT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok); }

std::vector<u8> pattern(u32 bytes, u8 seed) {
    std::vector<u8> v(bytes);
    for (u32 i = 0; i < bytes; ++i) v[i] = static_cast<u8>(seed + i * 13 + i / 512);
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

std::vector<u8> cdb10(u8 op, u32 lba, u16 blocks) {
    return {op, 0, static_cast<u8>(lba >> 24), static_cast<u8>(lba >> 16), static_cast<u8>(lba >> 8),
            static_cast<u8>(lba), 0, static_cast<u8>(blocks >> 8), static_cast<u8>(blocks), 0};
}

// A Bulk-Only stick (46f4:0001, serial TVEHCI1) as the controller reaches it: it reads and
// writes the bytes of each qTD it runs, wherever the shadow's buffers point.
struct Stick {
    explicit Stick(FakeEhci& fake) : f(fake), disk(kDiskSectors * 512) {}

    // Byte `from` of the qTD's data onwards, as the controller walks its pages.
    void move(Qtd const& t, u8* data, u32 n, bool to_device) {
        u32 pos = t.buffer[0] & 0xFFF, page = qtd_cpage(t.token);
        for (u32 done = 0; done < n; ++page, pos = 0) {
            u32 const chunk = std::min(n - done, 4096 - pos);
            u8* at = f.bytes((t.buffer[page] & ~0xFFFu) + pos);
            if (!at) return;
            if (to_device) memcpy(data + done, at, chunk);
            else memcpy(at, data + done, chunk);
            done += chunk;
        }
    }

    u32 operator()(Qh const& h, Qtd const& t) {
        u8 const ep = (h.epchar >> 8) & 0xF;
        u32 const len = qtd_bytes(t.token);
        QtdPid const pid = qtd_pid(t.token);
        if (ep == 0) return control(t, pid, len);
        if (ep == kEpOut && pid == QtdPid::Out) return bulk_out(t, len);
        if (ep == kEpIn && pid == QtdPid::In) return bulk_in(t, len);
        return 0;
    }

    u32 control(Qtd const& t, QtdPid pid, u32 len) {
        if (pid == QtdPid::Setup) {
            move(t, reinterpret_cast<u8*>(&setup), 8, true);
            return 0;
        }
        if (pid != QtdPid::In || !len) return 0;
        std::vector<u8> d;
        u8 const type = static_cast<u8>(setup >> 24), index = static_cast<u8>(setup >> 16);
        if (type == 1) d = {18, 1, 0x00, 0x02, 0, 0, 0, 64, 0xF4, 0x46, 0x01, 0x00, 0, 0, 1, 2, 3, 1};
        if (type == 2)
            d = {9, 2, 32, 0, 1, 1, 0, 0x80, 50, 9, 4, 0, 0, 2, 0x08, 0x06, 0x50, 0,
                 7, 5, 0x80 | kEpIn, 2, 0x00, 0x02, 0, 7, 5, kEpOut, 2, 0x00, 0x02, 0};
        if (type == 3 && index == 3) {
            d = {static_cast<u8>(2 + 2 * serial.size()), 3};
            for (char ch : serial) d.push_back(static_cast<u8>(ch)), d.push_back(0);
        }
        u32 const n = std::min<u32>(len, static_cast<u32>(d.size()));
        move(t, d.data(), n, false);
        return len - n;
    }

    u32 bulk_out(Qtd const& t, u32 len) {
        if (!in_command) {
            move(t, reinterpret_cast<u8*>(&cbw), kCbwBytes, true);
            ops.push_back(cbw.cb[0]);
            in_command = true;
            done = 0;
            return 0;
        }
        std::vector<u8> d(len);
        move(t, d.data(), len, true);
        if (cbw.cb[0] == 0x2A) {
            u32 const lba = u32{cbw.cb[2]} << 24 | u32{cbw.cb[3]} << 16 | u32{cbw.cb[4]} << 8 | cbw.cb[5];
            memcpy(disk.data() + lba * 512 + done, d.data(), len);
        }
        done += len;
        return 0;
    }

    u32 bulk_in(Qtd const& t, u32 len) {
        if (in_command && done < cbw.data_length && (cbw.flags & 0x80)) {
            std::vector<u8> d;
            if (cbw.cb[0] == 0x28) {
                u32 const lba = u32{cbw.cb[2]} << 24 | u32{cbw.cb[3]} << 16 | u32{cbw.cb[4]} << 8 | cbw.cb[5];
                d.assign(disk.begin() + lba * 512 + done, disk.begin() + lba * 512 + done + len);
            } else if (cbw.cb[0] == 0x25) {
                d = {0, 0, 0, kDiskSectors - 1, 0, 0, 2, 0};
            } else if (cbw.cb[0] == 0x03) {
                d.assign(18, 0);
                d[0] = 0x70;
                d[7] = 10;
            }
            u32 const n = std::min<u32>(len, static_cast<u32>(d.size()));
            move(t, d.data(), n, false);
            done += n;
            if (n < len) done = cbw.data_length;  // short: the data stage is over
            return len - n;
        }
        Csw w{kCswSignature, cbw.tag, 0, 0};
        move(t, reinterpret_cast<u8*>(&w), std::min<u32>(len, kCswBytes), false);
        in_command = false;
        return len - std::min<u32>(len, kCswBytes);
    }

    FakeEhci& f;
    std::vector<u8> disk;
    u64 setup{0};
    Cbw cbw{};
    bool in_command{false};
    u32 done{0};
    std::vector<u8> ops;  // the opcodes of the CBWs the stick was given
    std::string serial{"TVEHCI1"};
};

struct Pipe {
    u32 qh, dummy;
};

struct Td {
    QtdPid pid;
    u32 buf, len;
};

class EhciMassStorage : public ::testing::Test {
  protected:
    void SetUp() override {
        no_keys();
        ASSERT_TRUE(c->init(&f, f.mem()));
        f.device = [this](Qh const& h, Qtd const& t) { return stick(h, t); };
        Qh& head = qh(kHead, kCtlQh, 0, kLinkTerminate);
        head.overlay.token = kQtdHalted;
        head.epchar = kQhHead;  // address 0, halted: the ring's anchor
        ctl = {kCtlQh, dummy()};
        out = {kOutQh, dummy()};
        in = {kInQh, dummy()};
        qh(kCtlQh, kOutQh, 0, ctl.dummy);
        qh(kOutQh, kInQh, kEpOut, out.dummy);
        qh(kInQh, kHead, kEpIn, in.dummy);
        c->write(kAsync, 4, kHead);
        c->write(kCmd, 4, kCmdRun | kCmdAsync);
    }

    Qh& qh(u32 at, u32 next, u8 ep, u32 first) {
        Qh& q = *reinterpret_cast<Qh*>(f.g.ram.data() + at);
        q = Qh{};
        q.hlink = qh_link(next);
        q.epchar = kAddr | u32{ep} << 8 | 2u << 12 | 512u << 16;
        q.overlay = Qtd{first, kLinkTerminate, 0, {}};
        return q;
    }
    Qtd& td(u32 at) { return *reinterpret_cast<Qtd*>(f.g.ram.data() + at); }
    u32 dummy() {
        u32 const a = next_td_;
        next_td_ += 32;
        td(a) = Qtd{kLinkTerminate, kLinkTerminate, kQtdHalted, {}};
        return a;
    }

    // Appends the qTDs to the pipe as ehci-hcd does: the old dummy becomes the first qTD, its
    // token written last. Returns their guest addresses.
    std::vector<u32> queue(Pipe& p, std::vector<Td> const& tds) {
        std::vector<u32> at{p.dummy};
        for (size_t i = 1; i < tds.size(); ++i) at.push_back(dummy());
        u32 const end = dummy();
        for (size_t i = tds.size(); i-- > 0;) {
            Qtd q{i + 1 < tds.size() ? at[i + 1] : end, kLinkTerminate, 0, {}};
            for (u32 b = 0; b < 5; ++b) q.buffer[b] = (tds[i].buf & ~0xFFFu) + b * 4096;
            q.buffer[0] = tds[i].buf;
            q.token = tds[i].len << 16 | 3u << 10 | u32{static_cast<u8>(tds[i].pid)} << 8 | kQtdActive |
                      (i + 1 == tds.size() ? kQtdIoc : 0);
            Qtd& g = td(at[i]);
            g.next = q.next;
            g.alt_next = q.alt_next;
            memcpy(g.buffer, q.buffer, sizeof q.buffer);
            g.token = q.token;
        }
        p.dummy = end;
        return at;
    }
    // The monitor picks up what was queued, the controller runs, the guest looks.
    void step() {
        c->tick();
        f.run();
        (void)c->read(kSts, 4);
    }
    bool done(u32 at) { return !(td(at).token & kQtdActive); }
    bool halted(u32 at) { return (td(at).token & kQtdHalted) != 0; }

    void control_in(u64 setup, u32 len) {
        ASSERT_TRUE(f.g.write(Gpa{kSetupBuf}, &setup, 8));
        auto at = queue(ctl, {{QtdPid::Setup, kSetupBuf, 8}, {QtdPid::In, kDescBuf, len}, {QtdPid::Out, 0, 0}});
        step();
        ASSERT_TRUE(done(at[2])) << "control transfer " << std::hex << setup << " did not complete";
    }
    void control_out(u64 setup) {
        ASSERT_TRUE(f.g.write(Gpa{kSetupBuf}, &setup, 8));
        queue(ctl, {{QtdPid::Setup, kSetupBuf, 8}, {QtdPid::In, 0, 0}});
        step();
    }
    // SET_ADDRESS 2 sent to address 0, as Linux resets a device (or addresses a new one).
    void set_address() {
        Qh& q = *reinterpret_cast<Qh*>(f.g.ram.data() + kCtlQh);
        q.epchar &= ~0x7Fu;
        control_out(0x0000000000020500);
        q.epchar |= kAddr;
    }
    void enumerate() {
        control_in(0x0012000001000680, 18);
        control_in(0x0020000002000680, 32);
        control_in(0x00FF040903030680, 255);
        control_out(0x0000000000010900);
    }

    // One Bulk-Only command as usb-storage sends it: CBW, data stage (pieces of at most
    // `piece` bytes), CSW; each a transfer of its own. Returns the CSW.
    Csw command(u32 tag, std::vector<u8> const& cdb, bool data_in, u32 len, u32 buf = kData, u32 piece = 16384) {
        Cbw w{kCbwSignature, tag, len, static_cast<u8>(data_in ? 0x80 : 0), 0, static_cast<u8>(cdb.size()), {}};
        memcpy(w.cb, cdb.data(), cdb.size());
        EXPECT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
        queue(out, {{QtdPid::Out, kCbwBuf, kCbwBytes}});
        step();
        if (len) {
            std::vector<Td> tds;
            for (u32 off = 0; off < len; off += piece) tds.push_back({data_in ? QtdPid::In : QtdPid::Out, buf + off, std::min(piece, len - off)});
            data_tds = queue(data_in ? in : out, tds);
            step();
        }
        Csw s{};
        EXPECT_TRUE(f.g.write(Gpa{kCswBuf}, &s, sizeof s));
        csw_td = queue(in, {{QtdPid::In, kCswBuf, kCswBytes}})[0];
        step();
        EXPECT_TRUE(f.g.read(Gpa{kCswBuf}, &s, sizeof s));
        return s;
    }
    void capacity() { EXPECT_EQ(command(1, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 8).status, 0); }
    std::vector<u8> sense() {
        std::vector<u8> s(18);
        EXPECT_EQ(command(99, {0x03, 0, 0, 0, 18, 0}, true, 18).status, 0);
        EXPECT_TRUE(f.g.read(Gpa{kData}, s.data(), 18));
        return s;
    }
    std::vector<u8> guest(u32 at, u32 n) {
        std::vector<u8> v(n);
        EXPECT_TRUE(f.g.read(Gpa{at}, v.data(), n));
        return v;
    }
    bool refused_with(char const* what) const {
        for (auto const& r : f.refusals)
            if (r.find(what) != std::string::npos) return true;
        return false;
    }
    bool noted(char const* what) const {
        for (auto const& n : f.notes)
            if (n.find(what) != std::string::npos) return true;
        return false;
    }

    FakeEhci f;
    std::unique_ptr<EhciController> c = std::make_unique<EhciController>();
    Stick stick{f};
    Pipe ctl{}, out{}, in{};
    u32 next_td_{0x2000};
    std::vector<u32> data_tds;
    u32 csw_td{0};
};

}  // namespace

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
