#include "drivers/usb/host/ehci_host.hpp"

#include <string.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "crypto/secure_zero.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/usb/host/ehci_host_qh.hpp"

namespace tv::usb::host {

namespace {

constexpr u32 kConfigFlag = 0x40, kPortSc = 0x44;
constexpr u32 kStsHalted = 1u << 12, kStsAsyncOn = 1u << 15;
constexpr u32 kCmdItc8 = 8u << 16;  // interrupt threshold: 8 micro-frames (the default)
constexpr u32 kSetupOffset = 0x800;
constexpr u64 kControlTimeoutUs = 1'000'000;
constexpr u32 kRecoveryUs = 10'000;  // USB 2.0 7.1.7.5: after a reset, before SET_ADDRESS

u32 rd32(u8 volatile* p) { return *reinterpret_cast<u32 volatile*>(p); }
void wr32(u8 volatile* p, u32 v) { *reinterpret_cast<u32 volatile*>(p) = v; }
u32 token_of(Qtd const& t) { return __atomic_load_n(&t.token, __ATOMIC_ACQUIRE); }

}  // namespace

u32 EhciHost::op32(u32 off) { return rd32(op_ + off); }
void EhciHost::op_w32(u32 off, u32 v) { wr32(op_ + off, v); }
void EhciHost::delay_us(u32 us) { clock_delay_us(us); }
void EhciHost::note(char const* line) { log("%s", line); }

u64 EhciHost::page() {
    if (page_count_ == kMaxPages)
        return 0;
    Hpa const h = alloc_pages(1);
    if (h.raw == 0)
        return 0;
    if (h.raw >= (4ull << 30)) {  // 32-bit schedule pointers (CTRLDSSEGMENT stays 0)
        free_pages(h, 1);
        return 0;
    }
    memset(phys_to_virt(h.raw), 0, kPageSize);
    pages_[page_count_++] = h.raw;
    return h.raw;
}

// 2.1.7: the BIOS gives the controller up when the OS semaphore is set.
bool EhciHost::take_from_bios() {
    u8 at = eecp_;
    for (u32 n = 0; at >= 0x40 && n < 8; ++n) {
        u32 const cap = pci::pci_config_read(bdf_, at, 4);
        if ((cap & 0xff) == kLegSupId) {
            if ((cap & kLegSupBios) == 0)
                return true;
            pci::pci_config_write(bdf_, static_cast<u16>(at + 3), 1, 1);
            for (u32 i = 0; i < 1000 && (pci::pci_config_read(bdf_, at, 4) & kLegSupBios) != 0; ++i)
                clock_delay_us(1000);
            pci::pci_config_write(bdf_, static_cast<u16>(at + 4), 4, 0xe000'0000u);  // SMIs off, events cleared
            bool const ok = (pci::pci_config_read(bdf_, at, 4) & kLegSupBios) == 0;
            log("card: EHCI %02x:%02x.%u: %s", bdf_.bus, bdf_.dev, bdf_.fn,
                ok ? "taken from the BIOS" : "the BIOS does not give it up");
            return ok;
        }
        at = static_cast<u8>(cap >> 8);
    }
    return true;
}

bool EhciHost::reset_controller() {
    op_w32(op(EhciOp::UsbCmd), op32(op(EhciOp::UsbCmd)) & ~kCmdRun);
    for (u32 i = 0; i < 200 && (op32(op(EhciOp::UsbSts)) & kStsHalted) == 0; ++i)
        clock_delay_us(100);
    op_w32(op(EhciOp::UsbCmd), kCmdReset);
    for (u32 i = 0; i < 2500 && (op32(op(EhciOp::UsbCmd)) & kCmdReset) != 0; ++i)
        clock_delay_us(100);
    return (op32(op(EhciOp::UsbCmd)) & kCmdReset) == 0;
}

bool EhciHost::set_async(bool on) {
    u32 const cmd = op32(op(EhciOp::UsbCmd));
    op_w32(op(EhciOp::UsbCmd), on ? cmd | kCmdAsync : cmd & ~kCmdAsync);
    for (u32 i = 0; i < 200; ++i) {
        if (((op32(op(EhciOp::UsbSts)) & kStsAsyncOn) != 0) == on)
            return true;
        clock_delay_us(100);
    }
    return false;
}

bool EhciHost::start(pci::Bdf b) {
    bdf_ = b;
    u32 const bar_lo = pci::pci_config_read(b, pci::kRegBar0, 4);
    u64 const bar = bar_lo & ~u64{0xF};
    if ((bar_lo & 1) != 0 || (bar_lo & 6) == 4 || bar == 0) {
        log("card: EHCI %02x:%02x.%u: BAR0 %#llx is not a 32-bit memory BAR", b.bus, b.dev, b.fn,
            static_cast<unsigned long long>(bar));
        return false;
    }
    saved_command_ = static_cast<u16>(pci::pci_config_read(b, pci::kRegCommand, 2));
    pci::pci_config_write(b, pci::kRegCommand, 2, saved_command_ | pci::kCommandMemory | 4u /* bus master */);
    started_ = true;
    auto* cap = static_cast<u8 volatile*>(phys_to_virt(bar));
    op_ = cap + (rd32(cap + kCapLength) & 0xff);
    u32 const hcs = rd32(cap + kHcsParams), hcc = rd32(cap + kHccParams);
    ports_ = hcs & 0xf;
    eecp_ = eecp_offset(hcc);
    if (!take_from_bios() || !reset_controller()) {
        log("card: EHCI %02x:%02x.%u cannot be taken or reset", b.bus, b.dev, b.fn);
        return false;
    }
    u64 const qp = page(), tp = page(), bp = page();
    if (qp == 0 || tp == 0 || bp == 0)
        return false;
    qh_page_ = static_cast<u8*>(phys_to_virt(qp));
    qhs_phys_ = static_cast<u32>(qp);
    tds_ = static_cast<Qtd*>(phys_to_virt(tp));
    td_phys_ = static_cast<u32>(tp);
    bounce_ = static_cast<u8*>(phys_to_virt(bp));
    bounce_phys_ = static_cast<u32>(bp);
    // The head: halted, never executed, the H bit marking the ring's start (4.8.3).
    Qh* head = qh_at(0);
    head->hlink = qh_link(qhs_phys_);
    head->epchar = kQhHead | (2u << 12) | (64u << 16);
    head->overlay = Qtd{kLinkTerminate, kLinkTerminate, kQtdHalted, {}};
    qh_info_[0].used = true;
    if (hcc & kHcc64Bit)
        op_w32(op(EhciOp::CtrlDsSegment), 0);
    op_w32(op(EhciOp::UsbIntr), 0);
    op_w32(op(EhciOp::AsyncListAddr), qhs_phys_);
    op_w32(op(EhciOp::UsbCmd), kCmdItc8 | kCmdRun);
    op_w32(kConfigFlag, 1);  // every root port to this controller, not its companions
    for (u32 p = 0; p < ports_ && (hcs & (1u << 4)) != 0; ++p) {  // PPC: ports need power
        u32 const sc = op32(kPortSc + 4 * p);
        op_w32(kPortSc + 4 * p, (sc & ~kPortWriteClear) | kPortPower);
    }
    clock_delay_us(20'000);  // let the ports report their connections
    if ((op32(op(EhciOp::UsbSts)) & kStsHalted) != 0 || !set_async(true)) {
        log("card: EHCI %02x:%02x.%u does not run its schedule", b.bus, b.dev, b.fn);
        return false;
    }
    return true;
}

void EhciHost::stop() {
    if (!started_)
        return;
    if (op_ != nullptr)
        (void)reset_controller();  // also routes the ports back to the companions (CONFIGFLAG 0)
    for (u32 i = 0; i < page_count_; ++i) {
        crypto::secure_zero(phys_to_virt(pages_[i]), kPageSize);
        free_pages(Hpa{pages_[i]}, 1);
    }
    page_count_ = 0;
    pci::pci_config_write(bdf_, pci::kRegCommand, 2, saved_command_);
    started_ = false;
}

Qh* EhciHost::find_qh(u8 addr, u8 ep) {
    for (u32 i = 1; i < kQhs; ++i)
        if (qh_info_[i].used && qh_info_[i].addr == addr && qh_info_[i].ep == ep)
            return qh_at(i);
    return nullptr;
}

// A new QH, linked in after the head; the controller may be walking the ring meanwhile,
// so the QH is complete before the head points at it.
Qh* EhciHost::add_qh(UsbDevice const& dev, u8 addr, u8 ep, u16 mps) {
    u32 i = 1;
    while (i < kQhs && qh_info_[i].used)
        ++i;
    if (i == kQhs)
        return nullptr;
    Qh* q = qh_at(i);
    QhFields const f = qh_fields(addr, ep & 0x0f, dev.speed, mps, ep == 0, dev.tt_hub, dev.tt_port);
    *q = Qh{};
    q->epchar = f.epchar;
    q->epcap = f.epcap;
    q->overlay = Qtd{kLinkTerminate, kLinkTerminate, 0, {}};
    Qh* head = qh_at(0);
    q->hlink = head->hlink;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    head->hlink = qh_link(qhs_phys_ + 64 * i);
    qh_info_[i] = QhInfo{addr, ep, true};
    return q;
}

bool EhciHost::run(Qh* qh, u32 last, u64 timeout_us, bool& timed_out) {
    timed_out = false;
    qh->overlay.alt_next = kLinkTerminate;
    __atomic_thread_fence(__ATOMIC_RELEASE);  // the qTDs before the controller may see them
    __atomic_store_n(&qh->overlay.next, td_phys_, __ATOMIC_RELEASE);
    u64 const end = clock_us() + timeout_us;
    for (;;) {
        for (u32 i = 0; i <= last; ++i)
            if (qtd_state(token_of(tds_[i])) == QtdState::Failed) {
                log("card: EHCI transfer failed (qTD %u token %08x)", i, token_of(tds_[i]));
                recover(qh);
                return false;
            }
        if (qtd_state(token_of(tds_[last])) == QtdState::Done)
            return true;
        if (clock_us() > end) {
            timed_out = true;
            recover(qh);
            return false;
        }
        clock_delay_us(20);
    }
}

// 4.8.2: with the async schedule off the controller holds no QH, so its overlay can be rewritten.
void EhciHost::recover(Qh* qh) {
    bool const off = set_async(false);
    u32 const toggle = qh->overlay.token & kQtdToggle;
    qh->current = 0;
    qh->overlay = Qtd{kLinkTerminate, kLinkTerminate, toggle, {}};
    for (u32 i = 0; i < 3; ++i)
        tds_[i].token = 0;
    if (!off || !set_async(true))
        log("card: EHCI async schedule does not %s", off ? "restart" : "stop");
}

bool EhciHost::control_at(u8 addr, u8 const (&setup)[8], u8* data, u32 len, u32& got) {
    got = 0;
    Qh* qh = find_qh(addr, 0);
    if (qh == nullptr || len > kPageSize)
        return false;
    bool const in = (setup[0] & 0x80) != 0;
    memcpy(reinterpret_cast<u8*>(tds_) + kSetupOffset, setup, 8);
    if (!in && len != 0)
        memcpy(bounce_, data, len);
    Qtd(&t)[3] = *reinterpret_cast<Qtd(*)[3]>(tds_);
    u32 const last = build_control(t, td_phys_, td_phys_ + kSetupOffset, bounce_phys_, len, in);
    bool timed_out = false;
    bool const ok = run(qh, last, kControlTimeoutUs, timed_out);
    if (timed_out)
        log("card: EHCI control transfer to device %u timed out", addr);
    if (ok && len != 0) {
        u32 const left = qtd_remaining(token_of(tds_[1]));
        got = left <= len ? len - left : 0;
        if (in)
            memcpy(data, bounce_, got);
    }
    crypto::secure_zero(bounce_, kPageSize);
    return ok;
}

bool EhciHost::control(UsbDevice const& dev, u8 const (&setup)[8], u8* data, u32 len, u32& got) {
    return dev.slot != 0 && control_at(dev.slot, setup, data, len, got);
}

// Default address 0: bMaxPacketSize0 from the first 8 bytes of the device descriptor, then
// SET_ADDRESS and endpoint 0's QH at the new address.
bool EhciHost::address(UsbDevice& dev) {
    if (next_addr_ > 127)
        return false;
    Qh* zero = find_qh(0, 0);
    if (zero != nullptr) {  // the last device's: its speed and hub fields may differ
        bool const off = set_async(false);
        QhFields const f =
            qh_fields(0, 0, dev.speed, dev.speed == UsbSpeed::High ? 64 : 8, true, dev.tt_hub, dev.tt_port);
        zero->epchar = f.epchar;
        zero->epcap = f.epcap;
        zero->overlay = Qtd{kLinkTerminate, kLinkTerminate, 0, {}};
        if (!off || !set_async(true))
            return false;
    } else if (add_qh(dev, 0, 0, dev.speed == UsbSpeed::High ? 64 : 8) == nullptr) {
        return false;
    }
    u8 d[8] = {};
    u32 got = 0;
    u8 const get8[8] = {0x80, 6, 0, 1, 0, 0, 8, 0};
    if (!control_at(0, get8, d, 8, got) || got < 8 || d[1] != 1)
        return false;
    u16 const mps0 = d[7] == 8 || d[7] == 16 || d[7] == 32 || d[7] == 64 ? d[7] : 8;
    u8 const addr = next_addr_;
    u8 const set_addr[8] = {0x00, 5, addr, 0, 0, 0, 0, 0};
    if (!control_at(0, set_addr, nullptr, 0, got))
        return false;
    ++next_addr_;
    clock_delay_us(2'000);  // USB 2.0 9.2.6.3: the device takes its address within 2 ms
    if (add_qh(dev, addr, 0, mps0) == nullptr)
        return false;
    dev.slot = addr;
    return true;
}

bool EhciHost::attach(u8 port, UsbDevice& dev) {
    dev = UsbDevice{};
    if (port == 0 || port > ports_)
        return false;
    u32 const reg = kPortSc + 4u * (port - 1u);
    u32 sc = op32(reg);
    RootPort what = classify_root_port(sc, false);
    if (what == RootPort::Reset) {
        op_w32(reg, (sc & ~(kPortWriteClear | kPortEnabled)) | kPortReset);
        clock_delay_us(50'000);  // USB 2.0 7.1.7.5: a root port reset lasts 50 ms
        op_w32(reg, op32(reg) & ~(kPortWriteClear | kPortReset));
        for (u32 i = 0; i < 200 && (op32(reg) & kPortReset) != 0; ++i)
            clock_delay_us(100);
        clock_delay_us(kRecoveryUs);
        sc = op32(reg);
        what = classify_root_port(sc, true);
    }
    if (what == RootPort::Companion) {
        op_w32(reg, (sc & ~kPortWriteClear) | kPortOwner);
        log("card: EHCI port %u: a full- or low-speed device, left to the companion controller", port);
        return false;
    }
    if (what != RootPort::Enabled)
        return false;
    dev.port = port;
    dev.speed = UsbSpeed::High;
    return address(dev);
}

bool EhciHost::attach_child(UsbDevice& dev) {
    if (dev.port == 0 || dev.port > ports_ || dev.depth == 0)
        return false;
    if (dev.speed != UsbSpeed::High && dev.tt_hub == 0)
        return false;  // below EHCI, a full/low-speed device needs a high-speed hub's translator
    return address(dev);
}

bool EhciHost::configure_bulk(UsbDevice const& dev, u8 in_ep, u16 in_mps, u8 out_ep, u16 out_mps) {
    if (dev.slot == 0)
        return false;
    return (find_qh(dev.slot, in_ep) != nullptr || add_qh(dev, dev.slot, in_ep, in_mps) != nullptr) &&
           (find_qh(dev.slot, out_ep) != nullptr || add_qh(dev, dev.slot, out_ep, out_mps) != nullptr);
}

bool EhciHost::bulk(UsbDevice const& dev, u8 ep, u8* data, u32 len, u32& got, u64 timeout_us) {
    got = 0;
    Qh* qh = dev.slot != 0 ? find_qh(dev.slot, ep) : nullptr;
    if (qh == nullptr || len > kPageSize)
        return false;
    bool const in = (ep & 0x80) != 0;
    if (!in)
        memcpy(bounce_, data, len);
    fill_qtd(tds_[0], in ? QtdPid::In : QtdPid::Out, bounce_phys_, len, false, true, kLinkTerminate, kLinkTerminate);
    // The controller retries a NAKed transfer by itself (RL 0): no doorbell to ring again.
    bool timed_out = false;
    bool const ok = run(qh, 0, timeout_us, timed_out);
    if (timed_out)
        log("card: EHCI transfer to device %u endpoint %02x timed out", dev.slot, ep);
    if (ok) {
        u32 const left = qtd_remaining(token_of(tds_[0]));
        got = left <= len ? len - left : 0;
        if (in)
            memcpy(data, bounce_, got);
    }
    crypto::secure_zero(bounce_, kPageSize);  // PINs and keys pass through it
    return ok;
}

}  // namespace tv::usb::host
