// A USB stick behind the EHCI fake controller (test_ehci_fake.hpp), without GoogleTest so
// that the fuzzer can use it too: a Bulk-Only stick that moves the bytes the shadow's buffers
// name, and the guest's side queueing qTDs as Linux's ehci-hcd does (each transfer appended
// through the QH's inactive dummy qTD).
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/test_ehci_fake.hpp"

namespace tv::usb::test {

constexpr u32 kHead = 0x1000, kCtlQh = 0x1040, kOutQh = 0x1080, kInQh = 0x10C0;
constexpr u32 kSetupBuf = 0x10000, kCbwBuf = 0x10100, kCswBuf = 0x10200, kDescBuf = 0x11000;
constexpr u32 kData = 0x20000;  // up to 0x7FFFF: guest buffers for data stages
constexpr u8 kAddr = 2, kEpIn = 1, kEpOut = 2;
constexpr u32 kSts = kOpBase + op(EhciOp::UsbSts), kCmd = kOpBase + op(EhciOp::UsbCmd);
constexpr u32 kAsync = kOpBase + op(EhciOp::AsyncListAddr);
constexpr u32 kDiskSectors = 256;

// A Bulk-Only stick (46f4:0001, serial TVEHCI1) as the controller reaches it: it reads and
// writes the bytes of each qTD it runs, wherever the shadow's buffers point.
struct Stick {
    explicit Stick(FakeEhci& fake) : f(fake), disk(kDiskSectors * 512) {}

    // Byte `from` of the qTD's data onwards, as the controller walks its pages.
    void move(Qtd const& t, u8* data, u32 n, bool to_device) {
        u32 pos = t.buffer[0] & 0xFFF, page = qtd_cpage(t.token);
        for (u32 done = 0; done < n; ++page, pos = 0) {
            if (page > 4) return;
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
            if (len && u64{lba} * 512 + done + len <= disk.size()) memcpy(disk.data() + lba * 512 + done, d.data(), len);
        }
        done += len;
        return 0;
    }

    u32 bulk_in(Qtd const& t, u32 len) {
        if (in_command && done < cbw.data_length && (cbw.flags & 0x80)) {
            std::vector<u8> d;
            if (cbw.cb[0] == 0x28) {
                u32 const lba = u32{cbw.cb[2]} << 24 | u32{cbw.cb[3]} << 16 | u32{cbw.cb[4]} << 8 | cbw.cb[5];
                if (u64{lba} * 512 + done + len <= disk.size())
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

// The guest's side: a ring of the halted head and three QHs of the stick at address 2 (control,
// bulk out, bulk in), each with ehci-hcd's dummy qTD, the controller running.
struct StickBus {
    [[nodiscard]] bool start() {
        if (!c->init(&f, f.mem())) return false;
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
        return true;
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

    FakeEhci f;
    std::unique_ptr<EhciController> c = std::make_unique<EhciController>();
    Stick stick{f};
    Pipe ctl{}, out{}, in{};
    u32 next_td_{0x2000};
};

}  // namespace tv::usb::test
