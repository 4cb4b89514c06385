// PCI enumeration and BAR sizing against a fake configuration space that behaves like
// hardware: read-only bits, BAR address bits as wide as the BAR's size, write-1-to-clear
// status bits.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "drivers/pci/pci.hpp"

using namespace tv;
using namespace tv::pci;

namespace {

struct FakeFunction {
    u32 regs[1024] = {};
    u32 writable[1024] = {};
};

class FakeConfigSpace final : public ConfigSpace {
  public:
    FakeFunction& add(Bdf b, u16 vendor, u16 device, u32 class_rev, u8 header_type) {
        FakeFunction& f = fns_[key(b)];
        f.regs[0] = static_cast<u32>(device) << 16 | vendor;
        f.regs[kRegClass / 4] = class_rev;
        f.regs[kRegHeader / 4] = static_cast<u32>(header_type) << 16;
        f.regs[kRegCommand / 4] = kCommandIo | kCommandMemory;
        f.writable[kRegCommand / 4] = 0x7;
        return f;
    }
    static void mem_bar(FakeFunction& f, unsigned i, u32 base, u32 size, bool prefetch = false) {
        f.regs[4 + i] = base | (prefetch ? 8u : 0u);
        f.writable[4 + i] = ~(size - 1) & ~0xFu;
    }
    static void mem64_bar(FakeFunction& f, unsigned i, u64 base, u64 size) {
        u64 const mask = ~(size - 1);
        f.regs[4 + i] = static_cast<u32>(base) | 4u;
        f.writable[4 + i] = static_cast<u32>(mask) & ~0xFu;
        f.regs[5 + i] = static_cast<u32>(base >> 32);
        f.writable[5 + i] = static_cast<u32>(mask >> 32);
    }
    static void io_bar(FakeFunction& f, unsigned i, u16 base, u16 size) {
        f.regs[4 + i] = base | 1u;
        f.writable[4 + i] = ~(u32{size} - 1) & 0xFFFCu;  // a device decoding 16 bits only
    }

    u32 read32(Bdf b, u16 reg) override {
        auto it = fns_.find(key(b));
        return it == fns_.end() ? 0xFFFFFFFF : it->second.regs[reg / 4];
    }
    void write32(Bdf b, u16 reg, u32 v) override {
        auto it = fns_.find(key(b));
        if (it == fns_.end()) return;
        FakeFunction& f = it->second;
        u32& r = f.regs[reg / 4];
        if (reg == kRegCommand) {
            r &= ~((v & 0xFFFF0000u));  // status: write 1 to clear
            r = (r & ~f.writable[1]) | (v & f.writable[1]);
        } else {
            r = (r & ~f.writable[reg / 4]) | (v & f.writable[reg / 4]);
        }
        if (reg >= kRegBar0 && reg < kRegBar0 + 24)
            bar_writes_with_decode_on += (f.regs[1] & (kCommandIo | kCommandMemory)) != 0;
    }
    FakeFunction& at(Bdf b) { return fns_[key(b)]; }
    int bar_writes_with_decode_on = 0;

  private:
    static u32 key(Bdf b) { return u32{b.bus} << 8 | u32{b.dev} << 3 | b.fn; }
    std::map<u32, FakeFunction> fns_;
};

constexpr u32 kAhciClass = 0x01060102;    // class 01, subclass 06, prog-if 01, rev 02
constexpr u32 kNicClass = 0x02000003;
constexpr u32 kHostBridge = 0x06000000;
constexpr u32 kPciBridge = 0x06040000;

std::vector<Function> run(FakeConfigSpace& cs, size_t max = 64, Status* status = nullptr) {
    std::vector<Function> out(max);
    size_t n = 0;
    Status s = enumerate(cs, out.data(), max, &n);
    if (status) *status = s;
    else EXPECT_EQ(s, Status::Ok);
    out.resize(n);
    return out;
}

}  // namespace

TEST(PciEnum, FindsFunctionsOnEveryBusAndEveryFunctionOfMultiFunctionDevices) {
    FakeConfigSpace cs;
    cs.add({0, 0, 0}, 0x8086, 0x29C0, kHostBridge, 0);
    cs.add({0, 0x1F, 0}, 0x8086, 0x2918, 0x06010000, 0x80);  // multi-function
    cs.add({0, 0x1F, 2}, 0x8086, 0x2922, kAhciClass, 0);
    cs.add({0, 0x03, 0}, 0x1234, 0x0001, kNicClass, 0);      // single function ...
    cs.add({0, 0x03, 1}, 0x1234, 0x0002, kNicClass, 0);      // ... so this one is not looked at
    cs.add({5, 0x00, 0}, 0x8086, 0x100E, kNicClass, 0);
    auto fns = run(cs);
    ASSERT_EQ(fns.size(), 5u);
    EXPECT_EQ(fns[0].bdf, (Bdf{0, 0, 0}));
    EXPECT_EQ(fns[1].bdf, (Bdf{0, 3, 0}));
    EXPECT_EQ(fns[3].bdf, (Bdf{0, 0x1F, 2}));
    EXPECT_EQ(fns[3].class_code, 0x01);
    EXPECT_EQ(fns[3].subclass, 0x06);
    EXPECT_EQ(fns[3].prog_if, 0x01);
    EXPECT_EQ(fns[4].bdf, (Bdf{5, 0, 0}));
    EXPECT_EQ(fns[4].vendor, 0x8086);
    EXPECT_EQ(fns[4].device, 0x100E);
}

TEST(PciEnum, SizesMemoryIoAndSixtyFourBitBars) {
    FakeConfigSpace cs;
    FakeFunction& f = cs.add({0, 2, 0}, 0x8086, 0x100E, kNicClass, 0);
    FakeConfigSpace::mem_bar(f, 0, 0xFEBC0000, 0x20000);
    FakeConfigSpace::io_bar(f, 1, 0xC000, 0x40);
    FakeConfigSpace::mem64_bar(f, 2, 0x8'0000'0000ull, 0x4000);
    FakeConfigSpace::mem_bar(f, 4, 0xFD000000, 0x1000000, true);
    auto fns = run(cs);
    ASSERT_EQ(fns.size(), 1u);
    Bar const* b = fns[0].bars;
    EXPECT_EQ(fns[0].bar_count, 6);
    EXPECT_EQ(b[0].kind, BarKind::Mem32);
    EXPECT_EQ(b[0].base, 0xFEBC0000u);
    EXPECT_EQ(b[0].size, 0x20000u);
    EXPECT_EQ(b[1].kind, BarKind::Io);
    EXPECT_EQ(b[1].base, 0xC000u);
    EXPECT_EQ(b[1].size, 0x40u);
    EXPECT_EQ(b[2].kind, BarKind::Mem64);
    EXPECT_EQ(b[2].base, 0x8'0000'0000ull);
    EXPECT_EQ(b[2].size, 0x4000u);
    EXPECT_EQ(b[2].reg, 0x18);
    EXPECT_EQ(b[3].kind, BarKind::None);  // the upper half of BAR2
    EXPECT_EQ(b[4].kind, BarKind::Mem32);
    EXPECT_TRUE(b[4].prefetchable);
    EXPECT_EQ(b[4].size, 0x1000000u);
    EXPECT_EQ(b[5].kind, BarKind::None);  // not implemented: reads back 0
}

TEST(PciEnum, SixtyFourBitBarLargerThanFourGiBIsSizedFromBothHalves) {
    FakeConfigSpace cs;
    FakeFunction& f = cs.add({0, 4, 0}, 0x1AF4, 0x1000, 0x03000000, 0);
    FakeConfigSpace::mem64_bar(f, 0, 0x40'0000'0000ull, 0x10'0000'0000ull);  // 64 GiB
    auto fns = run(cs);
    EXPECT_EQ(fns[0].bars[0].size, 0x10'0000'0000ull);
    EXPECT_EQ(fns[0].bars[0].base, 0x40'0000'0000ull);
}

TEST(PciEnum, SizingRestoresBarsAndCommandAndDisablesDecodeMeanwhile) {
    FakeConfigSpace cs;
    FakeFunction& f = cs.add({0, 2, 0}, 0x8086, 0x100E, kNicClass, 0);
    FakeConfigSpace::mem_bar(f, 0, 0xFEBC0000, 0x20000);
    FakeConfigSpace::mem64_bar(f, 2, 0x8'0000'0000ull, 0x4000);
    f.regs[1] |= (1u << 29) | (1u << 20);  // status: master abort seen (RW1C), capabilities list
    u32 const before[6] = {f.regs[4], f.regs[5], f.regs[6], f.regs[7], f.regs[8], f.regs[9]};
    run(cs);
    FakeFunction& g = cs.at({0, 2, 0});
    for (int i = 0; i < 6; ++i) EXPECT_EQ(g.regs[4 + i], before[i]) << "BAR" << i;
    EXPECT_EQ(g.regs[1] & 0xFFFF, u32{kCommandIo | kCommandMemory});
    EXPECT_TRUE(g.regs[1] & (1u << 29)) << "a status bit was cleared";
    EXPECT_EQ(cs.bar_writes_with_decode_on, 0);
}

TEST(PciEnum, HostBridgesKeepDecodingWhileSized) {
    FakeConfigSpace cs;
    FakeFunction& f = cs.add({0, 0, 0}, 0x8086, 0x29C0, kHostBridge, 0);
    FakeConfigSpace::mem_bar(f, 0, 0xE0000000, 0x1000);
    run(cs);
    EXPECT_GT(cs.bar_writes_with_decode_on, 0);
}

TEST(PciEnum, BridgesHaveTwoBarsAndCardBusNone) {
    FakeConfigSpace cs;
    FakeFunction& br = cs.add({0, 1, 0}, 0x8086, 0x1234, kPciBridge, 1);
    FakeConfigSpace::mem_bar(br, 0, 0xFE000000, 0x1000);
    br.regs[6] = 0x00020100;  // bus numbers, not a BAR
    br.writable[6] = 0x00FFFFFF;
    cs.add({0, 2, 0}, 0x104C, 0xAC50, 0x06070000, 2);
    auto fns = run(cs);
    ASSERT_EQ(fns.size(), 2u);
    EXPECT_EQ(fns[0].bar_count, 2);
    EXPECT_EQ(fns[0].bars[0].size, 0x1000u);
    EXPECT_EQ(cs.at({0, 1, 0}).regs[6], 0x00020100u);  // never written
    EXPECT_EQ(fns[1].bar_count, 0);
}

TEST(PciEnum, StopsWithNoMemoryWhenTheListIsFull) {
    FakeConfigSpace cs;
    for (u8 d = 0; d < 5; ++d) cs.add({0, d, 0}, 0x1234, d, kNicClass, 0);
    Status s;
    auto fns = run(cs, 3, &s);
    EXPECT_EQ(s, Status::NoMemory);
    EXPECT_EQ(fns.size(), 3u);
}

TEST(PciEnum, DecodeBarHandlesEveryKind) {
    Bar io = decode_bar(0x10, 0xC001, 0xFFFFFFE1, 0, 0);  // 32-bit I/O BAR of 32 ports
    EXPECT_EQ(io.kind, BarKind::Io);
    EXPECT_EQ(io.size, 0x20u);
    EXPECT_EQ(io.base, 0xC000u);
    Bar io16 = decode_bar(0x10, 0xC001, 0x0000FFE1, 0, 0);  // only 16 bits implemented
    EXPECT_EQ(io16.size, 0x20u);
    Bar none = decode_bar(0x14, 0, 0, 0, 0);
    EXPECT_EQ(none.kind, BarKind::None);
    Bar m = decode_bar(0x18, 0xFEBF1000, 0xFFFFF000, 0, 0);
    EXPECT_EQ(m.kind, BarKind::Mem32);
    EXPECT_EQ(m.size, 0x1000u);
    EXPECT_EQ(m.reg, 0x18);
}
