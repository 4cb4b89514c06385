// The EHCI tests' controller: a model of the registers the mediator reaches through EhciEnv
// and of how an EHCI controller runs the asynchronous schedule (EHCI 1.0 4.8-4.10) and the
// periodic one (4.6: one frame's entry and the chain behind it), on the
// monitor's DMA memory only. Every address it follows must be in that memory (a shadow) and
// every buffer it moves must be guest RAM that the test put there: it records both.
#pragma once

#include <string.h>

#include <functional>
#include <string>
#include <vector>

#include "drivers/usb/ehci_controller.hpp"
#include "tests/unit/test_xhci_fake.hpp"

namespace tv::usb::test {

inline constexpr u32 kDmaBase = 0x4000'0000;  // where the fake's DMA memory is, as the device sees it
inline constexpr u32 kOpBase = 0x20;          // CAPLENGTH of QEMU's usb-ehci

struct Executed {
    u32 qtd;  // the device address of the qTD
    u32 buffer, bytes;
    QtdPid pid;
};

class FakeEhci final : public EhciEnv {
  public:
    FakeEhci() : dma(EhciController::kDmaPages * kPageSize) {}

    // EhciEnv
    u32 dev_read(u32 off, u8 size) override {
        if (off == kCapLength) return size == 1 ? kOpBase : kOpBase | 0x0100'0000;
        if (off == kHccParams) return hccparams;
        if (off == kHcsParams) return hcsparams;
        if (u32 const p = port_of(off)) return portsc[p - 1];
        if (off == kOpBase + op(EhciOp::UsbIntr)) return intr;
        if (off == kOpBase + op(EhciOp::UsbSts)) return sts | (cmd & kCmdRun ? 0 : kStsHalted) | (cmd & kCmdAsync ? kStsAsync : 0) |
                   (cmd & kCmdPeriodic ? kStsPeriodic : 0);
        if (off == kOpBase + op(EhciOp::UsbCmd)) return cmd;
        if (off == kOpBase + op(EhciOp::AsyncListAddr)) return async;
        if (off == kOpBase + op(EhciOp::PeriodicListBase)) return periodic;
        if (off == kOpBase + op(EhciOp::FrIndex)) return frindex;
        return other;
    }
    void dev_write(u32 off, u8 size, u32 value) override {
        writes.push_back({off, size, value});
        if (off == kOpBase + op(EhciOp::UsbCmd)) {
            cmd = value & ~(kCmdReset | kCmdIaaDoorbell);
            if (value & kCmdIaaDoorbell) iaa_rung = true;
        }
        if (off == kOpBase + op(EhciOp::UsbSts)) sts &= ~value;
        if (off == kOpBase + op(EhciOp::UsbIntr)) intr = value;
        if (u32 const p = port_of(off)) {  // 2.3.9: changes write-1-to-clear, Enabled only cleared
            u32& r = portsc[p - 1];
            u32 const keep = r & (kPscChanges | kPscEnabled | kPscConnect);
            r = (value & ~(kPscChanges | kPscEnabled | kPscConnect)) | (keep & ~(value & kPscChanges));
            if (!(value & kPscEnabled)) r &= ~kPscEnabled;
        }
        if (off == kOpBase + op(EhciOp::AsyncListAddr)) async = value;
        if (off == kOpBase + op(EhciOp::PeriodicListBase)) periodic = value;
    }
    GuestView const& guest() override { return g; }
    void refused(char const* what, char const* why) override { refusals.push_back(std::string(what) + ": " + why); }
    void note(char const* what) override { notes.push_back(what); }
    void delay_us(u32) override {}
    UsbRule usb_rule(UsbIdentity const&, bool) override { return rule; }

    // The root port (from 1) whose PORTSC is at off, 0 for none.
    u32 port_of(u32 off) const {
        u32 const base = kOpBase + kOpPortSc, n = hcsparams & kHcsPortsMask;
        return off >= base && off < base + 4 * n && !(off & 3) ? (off - base) / 4 + 1 : 0;
    }
    // The interrupt line: a status bit whose enable is set.
    bool irq() const { return (sts & intr & 0x3F) != 0; }

    DmaMem mem() { return DmaMem{dma.data(), Hpa{kDmaBase}}; }
    bool in_dma(u32 addr, u32 len) const { return addr >= kDmaBase && u64{addr} + len <= u64{kDmaBase} + dma.size(); }
    template <class T>
    T* at(u32 addr) {
        if (!in_dma(addr, sizeof(T))) {
            strays.push_back(addr);
            return nullptr;
        }
        return reinterpret_cast<T*>(dma.data() + (addr - kDmaBase));
    }
    // The controller acknowledges a doorbell it was rung for.
    void advance() {
        if (iaa_rung) sts |= kStsIaa;
        iaa_rung = false;
    }

    // One frame of the periodic schedule (4.6, as QEMU runs it: the frame's entry once per
    // frame, every queue head on its chain given its turn): the entry of `frame` in the frame
    // list the controller was given, followed while it leads to QHs. Anything but a QH is
    // recorded in not_qh and ends the walk; so does coming back to a QH seen (QEMU stops there
    // too; recorded in looped) or a 64th node (recorded in overlong).
    void run_frame(u32 frame, u32 short_by = 0) {
        frindex = (frame * 8) & kFrIndexMask;
        if ((cmd & (kCmdRun | kCmdPeriodic)) != (kCmdRun | kCmdPeriodic)) return;
        u32 const* e = at<u32>((periodic & kBufferPageMask) + (frame % kFrameListEntries) * 4);
        if (!e) return;
        std::vector<u32> seen;
        u32 link = *e;
        for (u32 n = 0;; ++n) {
            if (link & kLinkTerminate) return;
            if (n == 64) {
                overlong.push_back(frame);
                return;
            }
            if (link_type(link) != LinkType::Qh) {
                not_qh.push_back(link);
                return;
            }
            for (u32 q : seen)
                if (q == (link & kLinkMask)) {
                    looped.push_back(frame);
                    return;
                }
            seen.push_back(link & kLinkMask);
            Qh* h = at<Qh>(link & kLinkMask);
            if (!h) return;
            periodic_qhs.push_back(link & kLinkMask);
            run_queue(h, short_by);
            link = h->hlink;
        }
    }

    // One pass over the async schedule: each QH once, each of its Active qTDs run to
    // completion (`short_by` bytes short on IN).
    void run(u32 short_by = 0) {
        if ((cmd & (kCmdRun | kCmdAsync)) != (kCmdRun | kCmdAsync)) return;
        u32 at_qh = async & kLinkMask;
        for (u32 n = 0; n < 64; ++n) {
            Qh* h = at<Qh>(at_qh);
            if (!h) return;
            run_queue(h, short_by);
            if (h->hlink & kLinkTerminate) return;
            at_qh = h->hlink & kLinkMask;
            if (at_qh == (async & kLinkMask)) return;
        }
    }

    void run_queue(Qh* h, u32 short_by) {
        for (u32 n = 0; n < 256; ++n) {
            if (h->overlay.token & kQtdHalted) return;
            if (!(h->overlay.token & kQtdActive)) {  // advance (4.10.2)
                u32 const next = qtd_bytes(h->overlay.token) && !(h->overlay.alt_next & kLinkTerminate)
                                     ? h->overlay.alt_next : h->overlay.next;
                if (next & kLinkTerminate) return;
                Qtd* q = at<Qtd>(next & kLinkMask);
                if (!q || !(q->token & kQtdActive)) return;
                h->current = next & kLinkMask;
                h->overlay = *q;
            }
            if (!budget) return;
            --budget;
            Executed e{h->current, h->overlay.buffer[0], qtd_bytes(h->overlay.token), qtd_pid(h->overlay.token)};
            executed.push_back(e);
            u32 left = 0;
            if (e.pid == QtdPid::In && short_by < e.bytes) left = short_by;
            if (!buffer_in_guest(h->overlay) && !buffer_in_storage(h->overlay)) bad_buffers.push_back(e.buffer);
            else if (e.pid == QtdPid::In && !in_data.empty() && bytes(e.buffer))  // what the device sends (within a page)
                memcpy(bytes(e.buffer), in_data.data(), e.bytes - left < in_data.size() ? e.bytes - left : in_data.size());
            if (device) left = device(*h, h->overlay);
            h->overlay.token = (h->overlay.token & ~(kQtdActive | (0x7FFFu << 16))) | (left << 16);
            Qtd* q = at<Qtd>(h->current);
            if (!q) return;
            q->token = h->overlay.token;
            if (h->overlay.token & kQtdIoc) sts |= 1;
        }
    }

    // Every page piece the controller would move for this qTD is guest RAM (EHCI 3.5.4).
    bool buffer_in_guest(Qtd const& t) const {
        u32 left = qtd_bytes(t.token), page = qtd_cpage(t.token), off = t.buffer[0] & 0xFFF;
        for (; left; ++page, off = 0) {
            if (page > 4) return false;
            u32 const n = left < 4096 - off ? left : 4096 - off;
            if (!g.ok(Gpa{u64{t.buffer[page] & ~0xFFFu} + off}, n)) return false;
            left -= n;
        }
        return true;
    }

    // The mass-storage path's pages (bounces, the sink, descriptor and CBW copies): the only
    // monitor memory a qTD may move.
    bool buffer_in_storage(Qtd const& t) const {
        u32 const base = kDmaBase + EhciController::kStoragePage * 4096;
        return (t.buffer[0] & ~0xFFFu) >= base && in_dma(t.buffer[0] & ~0xFFFu, 4096);
    }
    // The bytes at an address the controller was given: guest RAM or the DMA memory.
    u8* bytes(u32 addr) { return addr < g.ram.size() ? g.ram.data() + addr : at<u8>(addr); }

    FakeGuest g;
    UsbRule rule{UsbRule::Allow};
    // The device behind the controller, when a test has one: each qTD run is handed to it
    // (the overlay, as loaded), which moves its bytes through bytes() and returns those left.
    std::function<u32(Qh const&, Qtd const&)> device;
    u32 budget{~0u};  // qTDs the controller runs before it stops (a test's slow controller)
    std::vector<u8> dma;
    u32 hccparams{0x80}, cmd{0}, sts{0}, async{0}, periodic{0}, frindex{0}, other{0};
    u32 hcsparams{0}, intr{0};  // no root ports unless a test gives some
    u32 portsc[15]{};
    std::vector<u8> in_data;  // the bytes an IN transfer delivers
    bool iaa_rung{false};
    struct Write {
        u32 off;
        u8 size;
        u32 value;
    };
    std::vector<Write> writes;
    std::vector<std::string> refusals, notes;
    std::vector<u32> strays, bad_buffers;
    std::vector<u32> periodic_qhs, not_qh, overlong, looped;  // run_frame: QHs visited, other nodes, ...
    std::vector<Executed> executed;
};

// Guest-side builders: a QH and qTDs in the fake guest's RAM.
inline Qh& guest_qh(FakeGuest& g, u32 at, u32 next_qh, bool head, u32 first_qtd, u32 devaddr = 1) {
    Qh& q = *reinterpret_cast<Qh*>(g.ram.data() + at);
    q = Qh{};
    q.hlink = qh_link(next_qh);
    q.epchar = devaddr | (head ? kQhHead : 0) | (512u << 16);
    q.overlay = Qtd{first_qtd, kLinkTerminate, 0, {}};
    return q;
}

inline Qtd& guest_qtd(FakeGuest& g, u32 at, u32 next, u32 buffer, u32 bytes, QtdPid pid = QtdPid::Out, bool active = true) {
    Qtd& t = *reinterpret_cast<Qtd*>(g.ram.data() + at);
    t = Qtd{};
    t.next = next;
    t.alt_next = kLinkTerminate;
    t.token = (bytes << 16) | (3u << 10) | (u32{static_cast<u8>(pid)} << 8) | (active ? kQtdActive : 0);
    for (u32 b = 0; b < 5; ++b) t.buffer[b] = (buffer & kBufferPageMask) + b * 4096;
    t.buffer[0] = buffer;
    return t;
}

}  // namespace tv::usb::test
