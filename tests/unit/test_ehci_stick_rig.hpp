// A USB stick behind the EHCI mediator, for the mass-storage tests (test_ehci_storage*.cpp):
// the fake controller of test_ehci_fake.hpp with a Bulk-Only stick behind it that moves the
// bytes the shadow's buffers name; the guest queues qTDs as Linux's ehci-hcd does (each
// transfer appended through the QH's inactive dummy qTD).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "crypto/xts.hpp"
#include "storage/key_table.hpp"
#include "tests/unit/test_ehci_fake.hpp"

namespace tv::usb::test {

constexpr u32 kHead = 0x1000, kCtlQh = 0x1040, kOutQh = 0x1080, kInQh = 0x10C0;
constexpr u32 kSetupBuf = 0x10000, kCbwBuf = 0x10100, kCswBuf = 0x10200, kDescBuf = 0x11000;
constexpr u32 kData = 0x20000;  // up to 0x7FFFF: guest buffers for data stages
constexpr u8 kAddr = 2, kEpIn = 1, kEpOut = 2;
constexpr u32 kSts = kOpBase + op(EhciOp::UsbSts), kCmd = kOpBase + op(EhciOp::UsbCmd);
constexpr u32 kAsync = kOpBase + op(EhciOp::AsyncListAddr);
constexpr u32 kDiskSectors = 256;

inline storage::KeyEntry g_key;

inline void enroll(char const* serial) {
    g_key = storage::KeyEntry{};
    strcpy(g_key.serial, serial);
    g_key.bus = storage::Bus::Usb;
    g_key.data_unit = 512;
    for (u32 i = 0; i < 64; ++i) g_key.master_key[i] = static_cast<u8>(0x3C + i * 5);
    ASSERT_EQ(storage::set_keys(&g_key, 1, true), Status::Ok);
}
inline void no_keys() { ASSERT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok); }

inline std::vector<u8> pattern(u32 bytes, u8 seed) {
    std::vector<u8> v(bytes);
    for (u32 i = 0; i < bytes; ++i) v[i] = static_cast<u8>(seed + i * 13 + i / 512);
    return v;
}

inline std::vector<u8> xts(bool encrypt, u64 lba, std::vector<u8> v) {
    crypto::Xts x;
    EXPECT_EQ(x.set_key(g_key.master_key), Status::Ok);
    u64 const n = v.size() / 512;
    EXPECT_EQ(encrypt ? x.encrypt_sectors(Lba{lba}, 512, v.data(), v.data(), n)
                      : x.decrypt_sectors(Lba{lba}, 512, v.data(), v.data(), n),
              Status::Ok);
    return v;
}

inline std::vector<u8> cdb10(u8 op, u32 lba, u16 blocks) {
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

}  // namespace tv::usb::test
