// A fake 82540EM and guest RAM for the e1000 mediator's host tests. The device's DMA address
// of monitor memory is its host pointer; guest RAM is a vector at kGuestBase; the range
// [kMonitorBase, +kMonitorSize) stands for the monitor's region (never guest_ok).
#pragma once

#include <string.h>

#include <map>
#include <string>
#include <vector>

#include "drivers/nic/e1000_mediator.hpp"

namespace tv::nic::test {

using namespace e1000;

inline constexpr u64 kGuestBase = 0x100000, kGuestSize = 4 << 20;
inline constexpr u64 kMonitorBase = kGuestBase + kGuestSize, kMonitorSize = 1 << 20;

struct Frame {
    std::vector<u8> bytes;
};

class FakeNic final : public NicEnv {
  public:
    FakeNic() : ram(kGuestSize), regs(kBarSize / 4) { regs[off(Reg::Status) / 4] = kStatusLu; }

    // --- the device's registers
    u32 dev_read(u32 o) override {
        ++reads[o];
        if (missing_rar(o)) return 0;
        return regs[o / 4];
    }
    void dev_write(u32 o, u32 v) override {
        ++writes[o];
        if (missing_rar(o)) return;
        if (o == off(Reg::Ctrl) && (v & kCtrlRst)) {
            memset(regs.data(), 0, regs.size() * sizeof regs[0]);  // std::fill: traced per element in fuzz_e1000
            regs[off(Reg::Status) / 4] = kStatusLu;
            regs[off(Reg::Tctl) / 4] = 0x8;  // a reset value the guest must see
            return;
        }
        if (o == off(Reg::Ics)) {
            regs[off(Reg::Icr) / 4] |= v;
            return;
        }
        regs[o / 4] = v;
        if (o == off(Reg::Tdt) && auto_tx) transmit();  // QEMU sends at the doorbell
    }
    u32 reg(Reg r) const { return regs[off(r) / 4]; }
    // Bochs 2.7's e1000 keeps only RAR[0-3]: the others read as zero and ignore writes.
    bool missing_rar(u32 o) const { return o >= ral(rar_count) && o < ral(kRarCount); }

    // --- guest RAM
    bool guest_ok(Gpa g, u64 len) override {
        u64 const gpa = g.raw;
        return len && gpa + len > gpa && gpa >= kGuestBase && gpa + len <= kGuestBase + kGuestSize;
    }
    bool guest_read(Gpa gpa, void* dst, u64 len) override {
        if (!guest_ok(gpa, len)) return false;
        memcpy(dst, &ram[gpa.raw - kGuestBase], len);
        return true;
    }
    bool guest_write(Gpa gpa, void const* src, u64 len) override {
        if (!guest_ok(gpa, len)) return false;
        memcpy(&ram[gpa.raw - kGuestBase], src, len);
        return true;
    }
    u8* g(u64 gpa) { return &ram[gpa - kGuestBase]; }
    void refused(char const* why, u64) override { refusals.push_back(why); }
    void guest_reset() override { ++resets; }

    // --- the device at work: transmit everything up to TDT, receive one frame
    template <class T>
    T* dma(u64 addr) {
        return reinterpret_cast<T*>(static_cast<uintptr_t>(addr));
    }
    // Device-side read of a buffer: monitor memory (a host pointer) or guest RAM.
    std::vector<u8> fetch(u64 addr, u32 len) {
        if (addr >= kGuestBase && addr + len <= kGuestBase + kGuestSize) return {g(addr), g(addr) + len};
        u8 const* p = dma<u8>(addr);
        return {p, p + len};
    }
    void transmit() {
        u32 const n = reg(Reg::Tdlen) / 16;
        u64 const base = u64{reg(Reg::Tdbah)} << 32 | reg(Reg::Tdbal);
        TxDesc* ring = dma<TxDesc>(base);
        while (regs[off(Reg::Tdh) / 4] != reg(Reg::Tdt)) {
            TxDesc& d = ring[regs[off(Reg::Tdh) / 4]];
            u8 const cmd = tx_cmd(d);
            bool const ext = cmd & kTxCmdDext;
            if (!(ext && tx_dtyp(d) == kTxDtypContext)) {
                u32 const len = ext ? d.lower & 0xFFFFF : d.lower & 0xFFFF;
                std::vector<u8> b = fetch(d.addr, len);
                packet.insert(packet.end(), b.begin(), b.end());
                buffers.push_back(d.addr);
                if (cmd & kTxCmdEop) {
                    sent.push_back(Frame{packet});
                    packet.clear();
                }
            }
            if (cmd & kTxCmdRs) d.status |= kTxStatDd;
            regs[off(Reg::Tdh) / 4] = (regs[off(Reg::Tdh) / 4] + 1) % n;
        }
        regs[off(Reg::Icr) / 4] |= kIcrTxdw;
    }
    bool receive(std::vector<u8> const& frame) {
        u32 const n = reg(Reg::Rdlen) / 16;
        u32& head = regs[off(Reg::Rdh) / 4];
        if (!(reg(Reg::Rctl) & kRctlEn) || n == 0 || head == reg(Reg::Rdt)) return false;
        RxDesc* ring = dma<RxDesc>(u64{reg(Reg::Rdbah)} << 32 | reg(Reg::Rdbal));
        RxDesc& d = ring[head];
        u32 const fcs = (reg(Reg::Rctl) & kRctlSecrc) ? 0 : 4;
        memcpy(dma<u8>(d.addr), frame.data(), frame.size());
        memset(dma<u8>(d.addr) + frame.size(), 0, fcs);
        d.length = static_cast<u16>(frame.size() + fcs);
        d.status = kRxDd | kRxEop;
        head = (head + 1) % n;
        regs[off(Reg::Icr) / 4] |= kIcrRxt0;
        return true;
    }

    std::vector<u8> ram;
    std::vector<u32> regs;
    std::map<u32, int> reads, writes;
    std::vector<Frame> sent;
    std::vector<u8> packet;
    std::vector<u64> buffers;
    std::vector<std::string> refusals;
    int resets{0};
    bool auto_tx{false};
    u32 rar_count{kRarCount};
};

// Monitor memory for the mediator, page-aligned like alloc_pages gives it.
struct MonitorMem {
    MonitorMem() : raw(E1000Mediator::kDmaBytes + 4096) {}
    DmaMem dma() {
        u8* p = reinterpret_cast<u8*>((reinterpret_cast<uintptr_t>(raw.data()) + 4095) & ~uintptr_t{4095});
        return DmaMem{p, tv::Hpa{reinterpret_cast<uintptr_t>(p)}};
    }
    std::vector<u8> raw;
};

inline std::vector<u8> eth(MacAddr dst, MacAddr src, u16 type, size_t len, u8 fill) {
    std::vector<u8> f(len, fill);
    memcpy(f.data(), dst.b, 6);
    memcpy(f.data() + 6, src.b, 6);
    f[12] = static_cast<u8>(type >> 8);
    f[13] = static_cast<u8>(type);
    return f;
}

}  // namespace tv::nic::test
