#include "drivers/usb/host/xhci_host.hpp"

#include <string.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "crypto/secure_zero.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/usb/host/xhci_host_slot.hpp"
#include "drivers/usb/xhci_context.hpp"
#include "drivers/usb/xhci_regs.hpp"

namespace tv::usb::host {

namespace {

constexpr u32 kRingTrbs = 256;                 // one page
constexpr u64 kCommandTimeoutUs = 500'000;
constexpr u64 kControlTimeoutUs = 1'000'000;
constexpr u64 kBulkSliceUs = 250'000;
constexpr u32 kPortCcs = 1u << 0, kPortPed = 1u << 1, kPortPr = 1u << 4, kPortPrc = 1u << 21;
// PORTSC bits that keep their value when written back (xHCI 1.2, 5.4.8): read-only and RWS.
constexpr u32 kPortPreserve = (1u << 0) | (1u << 3) | (0xFu << 5) | (1u << 9) | (0xFu << 10) | (3u << 14) |
                              (7u << 25) | (1u << 30);

u32 rd32(u8 volatile* p) { return *reinterpret_cast<u32 volatile*>(p); }
void wr32(u8 volatile* p, u32 v) { *reinterpret_cast<u32 volatile*>(p) = v; }

Trb make_trb(u64 param, u32 status, TrbType type, u32 flags) {
    Trb t{param, status, flags};
    set_trb_type(t, type);
    return t;
}

// An event TRB the controller may be writing: the control word (with the cycle bit) first.
Trb read_event(Trb const* p) {
    auto const volatile* w = reinterpret_cast<u32 const volatile*>(p);
    u32 words[4];
    words[3] = w[3];
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    words[0] = w[0];
    words[1] = w[1];
    words[2] = w[2];
    Trb t;
    memcpy(&t, words, sizeof t);
    return t;
}

u32 dci_of(u8 ep) { return (ep & 0x0f) * 2u + ((ep & 0x80) ? 1u : 0u); }

}  // namespace

u32 XhciHost::op32(u32 off) { return rd32(op_ + off); }
void XhciHost::op_w32(u32 off, u32 v) { wr32(op_ + off, v); }
void XhciHost::op_w64(u32 off, u64 v) {
    wr32(op_ + off, static_cast<u32>(v));
    wr32(op_ + off + 4, static_cast<u32>(v >> 32));
}
void XhciHost::ring_doorbell(u32 slot, u32 target) {
    __atomic_thread_fence(__ATOMIC_RELEASE);  // the TRBs before the doorbell
    wr32(db_ + 4 * slot, target);
}

u64 XhciHost::page() {
    if (page_count_ == kMaxPages)
        return 0;
    Hpa const h = alloc_pages(1);
    if (h.raw == 0)
        return 0;
    pages_[page_count_++] = h.raw;
    return h.raw;
}

bool XhciHost::alloc_ring(Ring& r) {
    u64 const p = page();
    if (p == 0)
        return false;
    r.trbs = static_cast<Trb*>(phys_to_virt(p));
    r.phys = p;
    r.enqueue = 0;
    r.cycle = true;
    // The last TRB links back to the first and flips the cycle bit.
    r.trbs[kRingTrbs - 1] = make_trb(p, 0, TrbType::Link, kTrbToggleCycle);
    return true;
}

void XhciHost::push(Ring& r, Trb t) {
    set_trb_cycle(t, r.cycle);
    r.trbs[r.enqueue] = t;
    if (++r.enqueue == kRingTrbs - 1) {
        Trb& link = r.trbs[kRingTrbs - 1];
        set_trb_cycle(link, r.cycle);
        r.enqueue = 0;
        r.cycle = !r.cycle;
    }
}

bool XhciHost::next_event(Trb& ev, u64 timeout_us) {
    u64 const end = clock_us() + timeout_us;
    for (;;) {
        Trb const t = read_event(&events_[ev_dequeue_]);
        if (trb_cycle(t) == ev_cycle_) {
            ev = t;
            if (++ev_dequeue_ == kRingTrbs) {
                ev_dequeue_ = 0;
                ev_cycle_ = !ev_cycle_;
            }
            u8 volatile* ir = rt_ + kIntr0;
            u64 const erdp = (events_phys_ + ev_dequeue_ * sizeof(Trb)) | kErdpEhb;
            wr32(ir + kErdp, static_cast<u32>(erdp));
            wr32(ir + kErdp + 4, static_cast<u32>(erdp >> 32));
            return true;
        }
        if (clock_us() > end)
            return false;
        clock_delay_us(20);
    }
}

bool XhciHost::command(Trb t, Trb& done) {
    push(cmd_, t);
    ring_doorbell(0, 0);
    for (u32 i = 0; i < 16; ++i) {
        if (!next_event(done, kCommandTimeoutUs))
            return false;
        if (trb_type(done) == TrbType::CommandCompletion)
            return trb_completion_code(done) == static_cast<u8>(Completion::Success);
    }
    return false;
}

bool XhciHost::wait_transfer(u8 slot, u32& residual, u64 timeout_us, bool* timed_out) {
    u64 const end = clock_us() + timeout_us;
    Trb ev{};
    if (timed_out != nullptr)
        *timed_out = false;
    while (clock_us() <= end) {
        if (!next_event(ev, end - clock_us() + 1)) {
            if (timed_out != nullptr)
                *timed_out = true;
            else
                log("card: xHCI transfer on slot %u timed out", slot);
            return false;
        }
        if (trb_type(ev) != TrbType::TransferEvent || trb_slot(ev) != slot)
            continue;  // port status changes and the like
        u8 const cc = trb_completion_code(ev);
        residual = trb_length(ev);
        if (cc == static_cast<u8>(Completion::Success) || cc == static_cast<u8>(Completion::ShortPacket))
            return true;
        log("card: xHCI transfer on slot %u endpoint %u ended with completion code %u", slot, trb_endpoint(ev), cc);
        return false;
    }
    return false;
}

bool XhciHost::reset_controller() {
    op_w32(kUsbCmd, op32(kUsbCmd) & ~kCmdRun);
    for (u32 i = 0; i < 2000 && (op32(kUsbSts) & kStsHch) == 0; ++i)
        clock_delay_us(100);
    op_w32(kUsbCmd, kCmdHcrst);
    for (u32 i = 0; i < 5000 && ((op32(kUsbCmd) & kCmdHcrst) != 0 || (op32(kUsbSts) & kStsCnr) != 0); ++i)
        clock_delay_us(100);
    return (op32(kUsbCmd) & kCmdHcrst) == 0 && (op32(kUsbSts) & kStsCnr) == 0;
}

bool XhciHost::start(pci::Bdf b) {
    bdf_ = b;
    u32 const bar_lo = pci::pci_config_read(b, pci::kRegBar0, 4);
    u64 bar = bar_lo & ~u64{0xF};
    if ((bar_lo & 6) == 4)
        bar |= u64{pci::pci_config_read(b, pci::kRegBar0 + 4, 4)} << 32;
    if ((bar_lo & 1) != 0 || bar == 0 || bar >= (4ull << 30)) {
        log("card: xHCI %02x:%02x.%u: BAR0 %#llx is not usable before the MMIO window exists", b.bus, b.dev, b.fn,
            static_cast<unsigned long long>(bar));
        return false;
    }
    saved_command_ = static_cast<u16>(pci::pci_config_read(b, pci::kRegCommand, 2));
    pci::pci_config_write(b, pci::kRegCommand, 2, saved_command_ | pci::kCommandMemory | 4u /* bus master */);
    started_ = true;
    cap_ = static_cast<u8 volatile*>(phys_to_virt(bar));
    op_ = cap_ + (rd32(cap_) & 0xff);
    rt_ = cap_ + (rd32(cap_ + kRtsOff) & ~0x1fu);
    db_ = cap_ + (rd32(cap_ + kDbOff) & ~0x3u);
    u32 const p1 = rd32(cap_ + kHcsParams1);
    ports_ = hcs_max_ports(p1);
    max_slots_ = hcs_max_slots(p1) < kMaxSlots ? hcs_max_slots(p1) : kMaxSlots;
    csz64_ = (rd32(cap_ + kHccParams1) & kHccCsz) != 0;
    if (hcs_scratchpads(rd32(cap_ + kHcsParams2)) != 0) {
        log("card: xHCI %02x:%02x.%u wants scratchpad buffers; not supported at boot", b.bus, b.dev, b.fn);
        return false;
    }
    if (!reset_controller()) {
        log("card: xHCI %02x:%02x.%u does not come out of reset", b.bus, b.dev, b.fn);
        return false;
    }
    u64 const dcbaa = page();
    u64 const erst = page();
    events_phys_ = page();
    bounce_phys_ = page();
    if (dcbaa == 0 || erst == 0 || events_phys_ == 0 || bounce_phys_ == 0 || !alloc_ring(cmd_))
        return false;
    dcbaa_ = static_cast<u64*>(phys_to_virt(dcbaa));
    events_ = static_cast<Trb*>(phys_to_virt(events_phys_));
    bounce_ = static_cast<u8*>(phys_to_virt(bounce_phys_));
    auto* erst_entry = static_cast<u64*>(phys_to_virt(erst));
    erst_entry[0] = events_phys_;
    erst_entry[1] = kRingTrbs;
    ev_dequeue_ = 0;
    ev_cycle_ = true;
    op_w32(kConfig, max_slots_);
    op_w64(kDcbaap, dcbaa);
    op_w64(kCrcr, cmd_.phys | kCrcrRcs);
    u8 volatile* ir = rt_ + kIntr0;
    wr32(ir + kErstSz, 1);
    wr32(ir + kErdp, static_cast<u32>(events_phys_));
    wr32(ir + kErdp + 4, static_cast<u32>(events_phys_ >> 32));
    wr32(ir + kErstBa, static_cast<u32>(erst));
    wr32(ir + kErstBa + 4, static_cast<u32>(erst >> 32));
    op_w32(kUsbCmd, kCmdRun);
    for (u32 i = 0; i < 1000 && (op32(kUsbSts) & kStsHch) != 0; ++i)
        clock_delay_us(100);
    if ((op32(kUsbSts) & kStsHch) != 0) {
        log("card: xHCI %02x:%02x.%u does not run", b.bus, b.dev, b.fn);
        return false;
    }
    clock_delay_us(20'000);  // let the root ports report their connections
    return true;
}

void XhciHost::stop() {
    if (!started_)
        return;
    if (op_ != nullptr)
        (void)reset_controller();
    for (u32 i = 0; i < page_count_; ++i) {
        crypto::secure_zero(phys_to_virt(pages_[i]), kPageSize);
        free_pages(Hpa{pages_[i]}, 1);
    }
    page_count_ = 0;
    pci::pci_config_write(bdf_, pci::kRegCommand, 2, saved_command_);
    started_ = false;
}

bool XhciHost::attach(u8 port, UsbDevice& dev) {
    dev = UsbDevice{};
    if (port == 0 || port > ports_)
        return false;
    u32 const reg = kPortRegs + 0x10u * (port - 1u);
    u32 sc = op32(reg);
    if ((sc & kPortCcs) == 0)
        return false;
    if ((sc & kPortPed) == 0) {  // USB 2 ports need a reset to enable; USB 3 ports enable themselves
        op_w32(reg, (sc & kPortPreserve) | kPortPr);
        for (u32 i = 0; i < 500 && (op32(reg) & kPortPrc) == 0; ++i)
            clock_delay_us(100);
        sc = op32(reg);
        op_w32(reg, (sc & kPortPreserve) | kPortPrc);
        clock_delay_us(10'000);
        sc = op32(reg);
        if ((sc & kPortPed) == 0)
            return false;
    }
    dev.port = port;
    u32 const speed = (sc >> 10) & 0xf;
    dev.speed = speed >= 4 ? UsbSpeed::Super : static_cast<UsbSpeed>(speed);
    return address(dev);
}

bool XhciHost::attach_child(UsbDevice& dev) {
    if (dev.port == 0 || dev.port > ports_ || dev.depth == 0)
        return false;
    return address(dev);
}

bool XhciHost::address(UsbDevice& dev) {
    Trb done{};
    if (!command(make_trb(0, 0, TrbType::EnableSlot, 0), done))
        return false;
    u8 const slot = trb_slot(done);
    if (slot == 0 || slot > max_slots_)
        return false;
    dev.slot = slot;
    ContextLayout const layout{csz64_};
    u64 const out_ctx = page();
    u64 const in_ctx = page();
    Ring& ep0 = ep_rings_[slot][1];
    if (out_ctx == 0 || in_ctx == 0 || !alloc_ring(ep0))
        return false;
    input_ctx_[slot] = in_ctx;
    dcbaa_[slot] = out_ctx;
    auto* in = static_cast<u8*>(phys_to_virt(in_ctx));
    reinterpret_cast<InputControlContext*>(in)->add = 3;  // slot and endpoint 0
    xhci_fill_slot(*reinterpret_cast<SlotContext*>(in + layout.input_offset(0)), dev, 1);
    auto* ep = reinterpret_cast<EpContext*>(in + layout.input_offset(1));
    u32 const mps = dev.speed == UsbSpeed::Super ? 512 : dev.speed == UsbSpeed::Low ? 8 : 64;
    ep->dw[1] = (3u << 1) | (static_cast<u32>(EpType::Control) << 3) | (mps << 16);
    ep->set_dequeue(ep0.phys, true);
    ep->dw[4] = 8;  // average TRB length
    Trb addr = make_trb(in_ctx, 0, TrbType::AddressDevice, 0);
    addr.control |= u32{slot} << 24;
    return command(addr, done);
}

bool XhciHost::set_hub(UsbDevice const& dev, u8 nports, bool multi_tt) {
    if (dev.slot == 0)
        return false;
    ContextLayout const layout{csz64_};
    auto* in = static_cast<u8*>(phys_to_virt(input_ctx_[dev.slot]));
    memset(in, 0, layout.input_bytes());
    reinterpret_cast<InputControlContext*>(in)->add = 1;  // the slot context alone
    auto& sl = *reinterpret_cast<SlotContext*>(in + layout.input_offset(0));
    xhci_fill_slot(sl, dev, 1);
    xhci_mark_hub(sl, nports, multi_tt);
    Trb t = make_trb(input_ctx_[dev.slot], 0, TrbType::ConfigureEndpoint, 0);
    t.control |= u32{dev.slot} << 24;
    Trb done{};
    return command(t, done);
}

void XhciHost::delay_us(u32 us) { clock_delay_us(us); }
void XhciHost::note(char const* line) { log("%s", line); }

bool XhciHost::control(UsbDevice const& dev, u8 const (&setup)[8], u8* data, u32 len, u32& got) {
    got = 0;
    if (dev.slot == 0 || len > kPageSize)
        return false;
    Ring& r = ep_rings_[dev.slot][1];
    bool const in = (setup[0] & 0x80) != 0;
    u64 param = 0;
    memcpy(&param, setup, 8);
    u32 const trt = len == 0 ? 0 : in ? 3 : 2;
    push(r, make_trb(param, 8, TrbType::SetupStage, kTrbIdt | (trt << 16)));
    if (len != 0) {
        if (!in)
            memcpy(bounce_, data, len);
        push(r, make_trb(bounce_phys_, len, TrbType::DataStage, in ? kTrbDirIn : 0));
    }
    push(r, make_trb(0, 0, TrbType::StatusStage, kTrbIoc | (in && len != 0 ? 0 : kTrbDirIn)));
    ring_doorbell(dev.slot, 1);
    u32 residual = 0;
    bool const ok = wait_transfer(dev.slot, residual, kControlTimeoutUs);
    if (ok && in && len != 0) {
        got = len;  // the status stage's event carries no residual; devices send what was asked or less
        memcpy(data, bounce_, len);
    }
    crypto::secure_zero(bounce_, kPageSize);
    return ok;
}

bool XhciHost::configure_bulk(UsbDevice const& dev, u8 in_ep, u16 in_mps, u8 out_ep, u16 out_mps) {
    ContextLayout const layout{csz64_};
    u32 const din = dci_of(in_ep), dout = dci_of(out_ep);
    if (dev.slot == 0 || din >= 32 || dout >= 32 || !alloc_ring(ep_rings_[dev.slot][din]) ||
        !alloc_ring(ep_rings_[dev.slot][dout]))
        return false;
    auto* in = static_cast<u8*>(phys_to_virt(input_ctx_[dev.slot]));
    memset(in, 0, layout.input_bytes());
    reinterpret_cast<InputControlContext*>(in)->add = 1u | (1u << din) | (1u << dout);
    xhci_fill_slot(*reinterpret_cast<SlotContext*>(in + layout.input_offset(0)), dev, din > dout ? din : dout);
    for (u32 i = 0; i < 2; ++i) {
        u32 const dci = i == 0 ? din : dout;
        u32 const mps = i == 0 ? in_mps : out_mps;
        auto* ep = reinterpret_cast<EpContext*>(in + layout.input_offset(dci));
        EpType const type = i == 0 ? EpType::BulkIn : EpType::BulkOut;
        ep->dw[1] = (3u << 1) | (static_cast<u32>(type) << 3) | (mps << 16);
        ep->set_dequeue(ep_rings_[dev.slot][dci].phys, true);
        ep->dw[4] = mps;
    }
    Trb t = make_trb(input_ctx_[dev.slot], 0, TrbType::ConfigureEndpoint, 0);
    t.control |= u32{dev.slot} << 24;
    Trb done{};
    return command(t, done);
}

bool XhciHost::bulk(UsbDevice const& dev, u8 ep, u8* data, u32 len, u32& got, u64 timeout_us) {
    got = 0;
    u32 const dci = dci_of(ep);
    if (dev.slot == 0 || dci >= 32 || ep_rings_[dev.slot][dci].trbs == nullptr || len > kPageSize)
        return false;
    bool const in = (ep & 0x80) != 0;
    if (!in)
        memcpy(bounce_, data, len);
    push(ep_rings_[dev.slot][dci], make_trb(bounce_phys_, len, TrbType::Normal, kTrbIoc | (in ? (1u << 2) : 0)));
    ring_doorbell(dev.slot, dci);
    u32 residual = 0;
    // In slices, ringing the doorbell again after each: a device that NAKed is polled again
    // only on its wakeup, and QEMU's usb-ccid can lose one when its answer comes from the
    // card's thread just as the controller gives up on the endpoint (seen under load).
    bool ok = false;
    bool timed_out = true;
    for (u64 waited = 0; !ok && timed_out && waited < timeout_us; waited += kBulkSliceUs) {
        ok = wait_transfer(dev.slot, residual, kBulkSliceUs, &timed_out);
        if (!ok && timed_out)
            ring_doorbell(dev.slot, dci);
    }
    if (!ok && timed_out)
        log("card: xHCI transfer on slot %u endpoint %u timed out", dev.slot, dci);
    if (ok && in) {
        got = residual <= len ? len - residual : 0;
        memcpy(data, bounce_, got);
    } else if (ok) {
        got = len;
    }
    crypto::secure_zero(bounce_, kPageSize);  // PINs and keys pass through it
    return ok;
}

}  // namespace tv::usb::host
