#include "drivers/usb/host/uhci_host.hpp"

#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "crypto/secure_zero.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::usb::host {

using x86::inw;
using x86::outb;
using x86::outl;
using x86::outw;

namespace {

// UHCI 1.1, 2.1 and 2.1.7: I/O registers; 5.2.1: the legacy-support register in config space.
constexpr u16 kCmd = 0x00, kSts = 0x02, kIntr = 0x04, kFrNum = 0x06, kFrBase = 0x08, kSofMod = 0x0c, kPortSc = 0x10;
constexpr u16 kCmdRun = 1u << 0, kCmdHcReset = 1u << 1, kCmdGlobalReset = 1u << 2, kCmdConfigured = 1u << 6,
              kCmdMaxPacket64 = 1u << 7;
constexpr u16 kStsHalted = 1u << 5;
constexpr u16 kPortConnect = 1u << 0, kPortConnectChange = 1u << 1, kPortEnabled = 1u << 2,
              kPortEnableChange = 1u << 3, kPortPresent = 1u << 7, kPortLowSpeed = 1u << 8, kPortReset = 1u << 9;
constexpr u16 kLegSup = 0xc0, kLegSupClear = 0x8f00;  // the status bits (write 1 to clear), everything else off
constexpr u32 kSetupOffset = 4064;                     // in the TD page, after the TDs
constexpr u64 kControlTimeoutUs = 1'000'000;
constexpr u32 kFrameUs = 2'000;  // a frame and some: the controller has let go of a queue

}  // namespace

u16 UhciHost::reg16(u16 off) { return inw(static_cast<u16>(io_ + off)); }
void UhciHost::reg_w16(u16 off, u16 v) { outw(static_cast<u16>(io_ + off), v); }
void UhciHost::delay_us(u32 us) { clock_delay_us(us); }
void UhciHost::note(char const* line) { log("%s", line); }

u64 UhciHost::page() {
    if (page_count_ == kMaxPages)
        return 0;
    Hpa const h = alloc_pages(1);
    if (h.raw == 0)
        return 0;
    if (h.raw >= (4ull << 30)) {  // 32-bit pointers everywhere
        free_pages(h, 1);
        return 0;
    }
    memset(phys_to_virt(h.raw), 0, kPageSize);
    pages_[page_count_++] = h.raw;
    return h.raw;
}

bool UhciHost::reset_controller() {
    reg_w16(kCmd, 0);
    for (u32 i = 0; i < 100 && (reg16(kSts) & kStsHalted) == 0; ++i)
        clock_delay_us(100);
    reg_w16(kCmd, kCmdGlobalReset);
    clock_delay_us(50'000);  // 2.1.1: at least 10 ms on the bus
    reg_w16(kCmd, 0);
    reg_w16(kCmd, kCmdHcReset);
    for (u32 i = 0; i < 1000 && (reg16(kCmd) & kCmdHcReset) != 0; ++i)
        clock_delay_us(100);
    return (reg16(kCmd) & kCmdHcReset) == 0;
}

bool UhciHost::start(pci::Bdf b) {
    bdf_ = b;
    u32 const bar4 = pci::pci_config_read(b, pci::kRegBar0 + 16, 4);
    if ((bar4 & 1) == 0 || (bar4 & ~3u) == 0 || (bar4 & ~3u) > 0xffe0) {
        log("card: UHCI %02x:%02x.%u: BAR4 %#x is not an I/O BAR", b.bus, b.dev, b.fn, bar4);
        return false;
    }
    io_ = static_cast<u16>(bar4 & ~3u);
    saved_command_ = static_cast<u16>(pci::pci_config_read(b, pci::kRegCommand, 2));
    saved_legsup_ = static_cast<u16>(pci::pci_config_read(b, kLegSup, 2));
    pci::pci_config_write(b, pci::kRegCommand, 2, saved_command_ | 1u /* I/O */ | 4u /* bus master */);
    pci::pci_config_write(b, kLegSup, 2, kLegSupClear);  // no SMIs, no keyboard emulation
    started_ = true;
    ports_ = 0;
    for (u16 p = 0; p < 7; ++p) {  // ports read bit 7 as one; past the last, QEMU reads 0xff7f
        u16 const v = reg16(static_cast<u16>(kPortSc + 2 * p));
        if ((v & kPortPresent) == 0 || v == 0xffff)
            break;
        ++ports_;
    }
    if (!reset_controller()) {
        log("card: UHCI %02x:%02x.%u does not come out of reset", b.bus, b.dev, b.fn);
        return false;
    }
    u64 const fl = page(), tp = page(), bp = page();
    if (fl == 0 || tp == 0 || bp == 0)
        return false;
    auto* frames = static_cast<u32*>(phys_to_virt(fl));
    qh_ = static_cast<UhciQh*>(phys_to_virt(tp));
    tds_ = reinterpret_cast<UhciTd*>(static_cast<u8*>(phys_to_virt(tp)) + sizeof(UhciTd));
    tds_phys_ = static_cast<u32>(tp) + sizeof(UhciTd);
    bounce_ = static_cast<u8*>(phys_to_virt(bp));
    bounce_phys_ = static_cast<u32>(bp);
    qh_->head = kUhciTerminate;
    qh_->element = kUhciTerminate;
    for (u32 i = 0; i < 1024; ++i)  // every frame runs the one queue
        frames[i] = static_cast<u32>(tp) | kUhciLinkQh;
    reg_w16(kIntr, 0);
    reg_w16(kFrNum, 0);
    outl(static_cast<u16>(io_ + kFrBase), static_cast<u32>(fl));
    outb(static_cast<u16>(io_ + kSofMod), 64);
    reg_w16(kCmd, kCmdRun | kCmdConfigured | kCmdMaxPacket64);
    clock_delay_us(10'000);
    if ((reg16(kSts) & kStsHalted) != 0) {
        log("card: UHCI %02x:%02x.%u does not run", b.bus, b.dev, b.fn);
        return false;
    }
    return true;
}

void UhciHost::stop() {
    if (!started_)
        return;
    if (io_ != 0)
        (void)reset_controller();
    for (u32 i = 0; i < page_count_; ++i) {
        crypto::secure_zero(phys_to_virt(pages_[i]), kPageSize);
        free_pages(Hpa{pages_[i]}, 1);
    }
    page_count_ = 0;
    pci::pci_config_write(bdf_, kLegSup, 2, saved_legsup_ & ~kLegSupClear);
    pci::pci_config_write(bdf_, pci::kRegCommand, 2, saved_command_);
    started_ = false;
}

UhciProgress UhciHost::run(u32 first, u32 n, u64 timeout_us, u32& bytes, u32& finished) {
    __atomic_thread_fence(__ATOMIC_RELEASE);  // the TDs before the controller may see them
    __atomic_store_n(&qh_->element, tds_phys_ + first * u32{sizeof(UhciTd)}, __ATOMIC_RELEASE);
    u64 const end = clock_us() + timeout_us;
    UhciProgress p = UhciProgress::Active;
    for (;;) {
        p = uhci_progress(tds_ + first, n, bytes, finished);
        if (p != UhciProgress::Active || clock_us() > end)
            break;
        clock_delay_us(50);
    }
    if (p != UhciProgress::Done) {  // the queue stopped at a short, failed or unfinished TD: empty it
        __atomic_store_n(&qh_->element, kUhciTerminate, __ATOMIC_RELEASE);
        clock_delay_us(kFrameUs);
        p = p == UhciProgress::Active ? uhci_progress(tds_ + first, n, bytes, finished) : p;
        if (p == UhciProgress::Active)
            log("card: UHCI transfer timed out");
    }
    return p;
}

bool UhciHost::control_at(u8 addr, bool low, u16 mps0, u8 const (&setup)[8], u8* data, u32 len, u32& got) {
    got = 0;
    if (len > kPageSize)
        return false;
    bool const in = (setup[0] & 0x80) != 0;
    u8* setup_buf = reinterpret_cast<u8*>(qh_) + kSetupOffset;
    memcpy(setup_buf, setup, 8);
    if (!in && len != 0)
        memcpy(bounce_, data, len);
    u32 const setup_phys = tds_phys_ - u32{sizeof(UhciTd)} + kSetupOffset;
    u32 const cap = (kSetupOffset - sizeof(UhciTd)) / sizeof(UhciTd);
    bool toggle = false;
    (void)uhci_fill_stage(tds_, tds_phys_, 1, UhciPid::Setup, addr, 0, low, setup_phys, 8, 8, toggle);
    u32 nd = 0;
    if (len != 0) {
        nd = uhci_fill_stage(tds_ + 1, tds_phys_ + sizeof(UhciTd), cap - 2, in ? UhciPid::In : UhciPid::Out, addr, 0,
                             low, bounce_phys_, len, mps0, toggle);
        if (nd == 0)
            return false;
    }
    u32 const st = 1 + nd;
    toggle = true;
    (void)uhci_fill_stage(tds_ + st, tds_phys_ + st * u32{sizeof(UhciTd)}, 1, in && len != 0 ? UhciPid::Out : UhciPid::In,
                          addr, 0, low, 0, 0, 8, toggle);
    for (u32 i = 0; i < st; ++i)  // one chain: setup, data, status
        tds_[i].link = (tds_phys_ + (i + 1) * u32{sizeof(UhciTd)}) | kUhciDepthFirst;
    u32 bytes = 0, finished = 0;
    UhciProgress p = run(0, st + 1, kControlTimeoutUs, bytes, finished);
    if (p == UhciProgress::Short)  // a short IN data stage: on to the status stage
        p = run(st, 1, kControlTimeoutUs, bytes, finished) == UhciProgress::Done ? UhciProgress::Done
                                                                                : UhciProgress::Failed;
    bool const ok = p == UhciProgress::Done;
    if (ok && nd != 0) {
        (void)uhci_progress(tds_ + 1, nd, got, finished);
        if (in)
            memcpy(data, bounce_, got);
    }
    crypto::secure_zero(bounce_, kPageSize);
    crypto::secure_zero(setup_buf, 8);
    return ok;
}

bool UhciHost::control(UsbDevice const& dev, u8 const (&setup)[8], u8* data, u32 len, u32& got) {
    return dev.slot != 0 && control_at(dev.slot, low_[dev.slot], mps0_[dev.slot], setup, data, len, got);
}

bool UhciHost::address(UsbDevice& dev) {
    if (next_addr_ > 127)
        return false;
    bool const low = dev.speed == UsbSpeed::Low;
    u8 d[8] = {};
    u32 got = 0;
    u8 const get8[8] = {0x80, 6, 0, 1, 0, 0, 8, 0};
    if (!control_at(0, low, 8, get8, d, 8, got) || got < 8 || d[1] != 1)
        return false;
    u16 const mps0 = d[7] == 8 || d[7] == 16 || d[7] == 32 || d[7] == 64 ? d[7] : 8;
    u8 const addr = next_addr_;
    u8 const set_addr[8] = {0x00, 5, addr, 0, 0, 0, 0, 0};
    if (!control_at(0, low, mps0, set_addr, nullptr, 0, got))
        return false;
    ++next_addr_;
    clock_delay_us(2'000);  // USB 2.0 9.2.6.3: the device takes its address within 2 ms
    low_[addr] = low;
    mps0_[addr] = mps0;
    dev.slot = addr;
    return true;
}

bool UhciHost::attach(u8 port, UsbDevice& dev) {
    dev = UsbDevice{};
    if (port == 0 || port > ports_)
        return false;
    u16 const reg = static_cast<u16>(kPortSc + 2 * (port - 1));
    constexpr u16 kClear = kPortConnectChange | kPortEnableChange;
    if ((reg16(reg) & kPortConnect) == 0)
        return false;
    reg_w16(reg, static_cast<u16>((reg16(reg) & ~kClear) | kPortReset));
    clock_delay_us(50'000);  // USB 2.0 7.1.7.5: a root port reset lasts 50 ms
    reg_w16(reg, static_cast<u16>(reg16(reg) & ~(kClear | kPortReset)));
    clock_delay_us(100);
    for (u32 i = 0; i < 10 && (reg16(reg) & kPortEnabled) == 0; ++i) {  // UHCI enables a port on request only
        reg_w16(reg, static_cast<u16>((reg16(reg) & ~kClear) | kPortEnabled));
        clock_delay_us(1'000);
    }
    u16 const sc = reg16(reg);
    reg_w16(reg, static_cast<u16>(sc | kClear));
    if ((sc & (kPortConnect | kPortEnabled)) != (kPortConnect | kPortEnabled))
        return false;
    clock_delay_us(10'000);  // reset recovery
    dev.port = port;
    dev.speed = (sc & kPortLowSpeed) != 0 ? UsbSpeed::Low : UsbSpeed::Full;
    return address(dev);
}

bool UhciHost::attach_child(UsbDevice& dev) {
    if (dev.port == 0 || dev.port > ports_ || dev.depth == 0 || dev.speed == UsbSpeed::High)
        return false;
    return address(dev);
}

bool UhciHost::configure_bulk(UsbDevice const& dev, u8 in_ep, u16 in_mps, u8 out_ep, u16 out_mps) {
    if (dev.slot == 0 || in_mps == 0 || out_mps == 0)
        return false;
    ep_addr_[dev.slot][0] = in_ep;
    ep_addr_[dev.slot][1] = out_ep;
    eps_[dev.slot][0] = Endpoint{in_mps, false};  // SET_CONFIGURATION starts both at DATA0
    eps_[dev.slot][1] = Endpoint{out_mps, false};
    return true;
}

bool UhciHost::bulk(UsbDevice const& dev, u8 ep, u8* data, u32 len, u32& got, u64 timeout_us) {
    got = 0;
    u32 const dir = (ep & 0x80) != 0 ? 0 : 1;
    if (dev.slot == 0 || ep_addr_[dev.slot][dir] != ep || len > kPageSize)
        return false;
    Endpoint& e = eps_[dev.slot][dir];
    bool const in = dir == 0;
    if (!in)
        memcpy(bounce_, data, len);
    bool toggle = e.toggle;
    u32 const n = uhci_fill_stage(tds_, tds_phys_, (kSetupOffset - sizeof(UhciTd)) / sizeof(UhciTd),
                                  in ? UhciPid::In : UhciPid::Out, dev.slot, ep & 0x0f, low_[dev.slot], bounce_phys_,
                                  len, e.mps, toggle);
    if (n == 0)
        return false;
    // The controller retries a NAKed TD every frame by itself: nothing to ring.
    u32 bytes = 0, finished = 0;
    UhciProgress const p = run(0, n, timeout_us, bytes, finished);
    e.toggle = (finished & 1) != 0 ? !e.toggle : e.toggle;  // each packet that went through flipped it
    bool const ok = p == UhciProgress::Done || p == UhciProgress::Short;
    if (ok) {
        got = bytes;
        if (in)
            memcpy(data, bounce_, got);
    } else if (p == UhciProgress::Failed) {
        log("card: UHCI transfer to device %u endpoint %02x failed", dev.slot, ep);
    }
    crypto::secure_zero(bounce_, kPageSize);  // PINs and keys pass through it
    return ok;
}

}  // namespace tv::usb::host
