// A fake xHCI controller for the mediator's host tests: registers (capabilities, operational,
// interrupter 0, doorbells, two extended capabilities), the monitor's DMA memory at a fake
// device address, and the device's side of the rings: it reads the command and transfer rings
// the mediator gave it and writes events into the event ring the mediator gave it.
#pragma once

#include <stdlib.h>

#include <map>
#include <string>
#include <vector>

#include "drivers/usb/xhci_controller.hpp"
#include "tests/unit/test_xhci_fake.hpp"

namespace tv::usb::test {

inline constexpr u32 kOp = 0x40, kRt = 0x1000, kDb = 0x2000, kExt = 0x3000, kDebugCap = 0x3040;
inline constexpr u64 kDevBase = 0x40000000;  // where the fake device sees the monitor's memory

struct Doorbell {
    u32 index, value;
};

class FakeHc final : public XhciEnv {
  public:
    explicit FakeHc(bool csz64 = false) {
        mem = static_cast<u8*>(aligned_alloc(kPageSize, u64{kDmaPages} * kPageSize));
        reset(csz64);
    }
    // As new, for a harness that reuses one (guest RAM is the caller's to clear).
    void reset(bool csz64) {
        regs.clear();
        writes.clear();
        doorbells.clear();
        logs.clear();
        resets = enq = 0;
        ev_cycle = true;
        regs[kCapLength] = kOp | 0x0100u << 16;
        regs[kHcsParams1] = 4u << 24 | 8u << 8 | 64;
        regs[kHcsParams2] = 4u << 4;
        regs[kHccParams1] = (kExt / 4) << 16 | 7u << 12 | (csz64 ? kHccCsz : 0) | 1;
        regs[kDbOff] = kDb;
        regs[kRtsOff] = kRt;
        regs[kExt] = 1 | (0x40 / 4) << 8;  // USB Legacy Support, next at +0x40
        regs[kDebugCap] = 10;              // Debug Capability, last
        regs[kOp + kUsbSts] = kStsHch;
    }
    ~FakeHc() { free(mem); }

    u64 dev_read(u32 off, u8 size) override {
        u64 v = 0;
        for (u32 i = 0; i < size; i += 4) v |= u64{reg32(off + i)} << (i * 8);
        if (size < 4) v = (reg32(off & ~3u) >> ((off & 3) * 8)) & ((1ull << (size * 8)) - 1);
        return v;
    }
    void dev_write(u32 off, u8 size, u64 value) override {
        writes.push_back(off);
        if (off >= kDb && off < kDb + 1024) {
            doorbells.push_back(Doorbell{(off - kDb) / 4, static_cast<u32>(value)});
            return;
        }
        if (size == 8) {
            regs[off] = static_cast<u32>(value);
            regs[off + 4] = static_cast<u32>(value >> 32);
        } else {
            regs[off] = static_cast<u32>(value);
        }
        if (off == kOp + kUsbCmd && (value & kCmdHcrst)) {
            ++resets;
            for (u32 r : {kCrcr, kCrcr + 4, kDcbaap, kDcbaap + 4, kConfig}) regs[kOp + r] = 0;
            regs[kOp + kUsbCmd] = 0;
        }
        if (off == kOp + kUsbCmd) regs[kOp + kUsbSts] = (value & kCmdRun) ? 0 : kStsHch;
        if (off == kRt + kIntr0 + kErstBa + 4) {
            enq = 0;
            ev_cycle = true;
        }
    }
    GuestView const& guest() override { return g; }
    void refused(char const* what, char const* why) override { logs.push_back(std::string(what) + ": " + why); }
    void note(char const* what) override { logs.push_back(what); }
    void delay_us(u32) override {}

    DmaMem dma() const { return DmaMem{mem, Hpa{kDevBase}}; }
    u8* virt(u64 dev) { return mem + (dev - kDevBase); }
    bool in_dma(u64 dev) const { return dev >= kDevBase && dev < kDevBase + u64{kDmaPages} * kPageSize; }
    u64 reg64(u32 off) { return u64{reg32(off)} | u64{reg32(off + 4)} << 32; }
    Trb& dev_trb(u64 dev) { return *reinterpret_cast<Trb*>(virt(dev)); }
    u64 device_crcr() { return reg64(kOp + kCrcr); }
    u64 device_dcbaap() { return reg64(kOp + kDcbaap); }

    // The device writes an event into the ring the mediator gave it.
    void event(Trb ev) {
        ErstEntry const& e = *reinterpret_cast<ErstEntry*>(virt(reg64(kRt + kIntr0 + kErstBa)));
        Trb& at = dev_trb(e.base + u64{enq} * kTrbBytes);
        set_trb_cycle(ev, ev_cycle);
        at = ev;
        if (++enq == e.size) {
            enq = 0;
            ev_cycle = !ev_cycle;
        }
    }
    bool logged(char const* needle) const {
        for (auto const& l : logs)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }

    FakeGuest g;
    std::map<u32, u32> regs;
    std::vector<u32> writes;
    std::vector<Doorbell> doorbells;
    std::vector<std::string> logs;
    u8* mem;
    u32 resets{0}, enq{0};
    bool ev_cycle{true};

  private:
    u32 reg32(u32 off) {
        auto it = regs.find(off);
        return it == regs.end() ? 0 : it->second;
    }
};

}  // namespace tv::usb::test
