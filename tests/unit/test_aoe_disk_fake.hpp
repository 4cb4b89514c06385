// Test doubles for the AoE disk: fake guest memory with a hidden monitor range inside it, an
// interrupt counter, and a block device held in a vector that can be told to fail.
#pragma once

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <string>
#include <vector>

#include "drivers/aoe_disk/aoe_disk.hpp"
#include "tests/unit/fake_guest_ram.hpp"
#include "drivers/aoe_disk/aoe_disk_int13.hpp"

namespace aoedisk {

using namespace tv;
using namespace tv::ata;

inline constexpr u64 kRamEnd = 0x400000;                             // guest RAM: [0, 4 MiB)
inline constexpr u64 kHiddenBase = 0x300000, kHiddenEnd = 0x340000;  // the monitor's, inside it

class FakeEnv final : public AoeDiskEnv, public fakes::LogLines {
  public:
    FakeEnv() : phys(kRamEnd) {}
    u32 port_in(u16, u8) override { return 0; }
    void port_out(u16, u8, u32) override {}
    void port_in_words(u16, u16*, u32) override {}
    void port_out_words(u16, u16 const*, u32) override {}
    bool guest_ram(Gpa gpa, u64 bytes) override {
        return fakes::in_guest_ram(gpa.raw, bytes, kRamEnd, kHiddenBase, kHiddenEnd);
    }
    u8* guest_ptr(Gpa gpa) override { return phys.data() + gpa.raw; }
    void log(char const* fmt, ...) override {
        va_list ap;
        va_start(ap, fmt);
        add(fmt, ap);
        va_end(ap);
    }
    void raise_irq() override { ++irqs; }

    std::vector<u8> phys;
    int irqs{0};
};

class FakeBlock final : public BlockDevice {
  public:
    // Only the first kBacked sectors are stored; a larger size is for IDENTIFY tests.
    static constexpr u64 kBacked = 16384;
    explicit FakeBlock(u64 n = 8192) : disk((n < kBacked ? n : kBacked) * 512), n_(n) {
        for (size_t i = 0; i < disk.size(); ++i) disk[i] = static_cast<u8>((i * 2654435761u) >> 11);
    }
    u64 sectors() const override { return n_; }
    DiskResult read(tv::Lba lba, u32 count, u8* buf) override {
        ++reads;
        if (fault != DiskFault::None) return DiskResult{fault, 0x51, 0x40, lba};
        memcpy(buf, disk.data() + lba.raw * 512, count * 512ull);
        return DiskResult{DiskFault::None, 0, 0, tv::Lba{0}};
    }
    DiskResult write(tv::Lba lba, u32 count, u8 const* buf) override {
        ++writes;
        if (fault != DiskFault::None) return DiskResult{fault, 0x51, 0x40, lba};
        memcpy(disk.data() + lba.raw * 512, buf, count * 512ull);
        return DiskResult{DiskFault::None, 0, 0, tv::Lba{0}};
    }
    std::vector<u8> disk;
    DiskFault fault{DiskFault::None};
    int reads{0}, writes{0};

  private:
    u64 n_;
};

// The disk on a channel, driven as a guest driver would through its registers.
struct Rig {
    FakeEnv env;
    FakeBlock blk;
    AoeDisk* disk;  // large (its chunk buffer): on the heap

    explicit Rig(u64 sectors = 8192) : blk(sectors), disk(new AoeDisk) {
        IdentifyParams p{};
        p.shelf = 1;
        p.slot = 2;
        p.mac_tail[0] = 0xAB;
        disk->init(&env, &blk, p);
    }
    ~Rig() { delete disk; }
    Rig(Rig const&) = delete;
    Rig& operator=(Rig const&) = delete;

    u32 in(IdeBlock b, u8 off, u8 size = 1) {
        u32 v = 0;
        disk->access(b, off, true, size, &v);
        return v;
    }
    void out(IdeBlock b, u8 off, u32 v, u8 size = 1) { disk->access(b, off, false, size, &v); }
    u8 status() { return static_cast<u8>(in(IdeBlock::Command, 7)); }
    u8 error() { return static_cast<u8>(in(IdeBlock::Command, 1)); }

    void lba28(u64 lba, u8 count) {
        out(IdeBlock::Command, 6, 0xE0 | ((lba >> 24) & 0x0F));
        out(IdeBlock::Command, 2, count);
        out(IdeBlock::Command, 3, lba & 0xFF);
        out(IdeBlock::Command, 4, (lba >> 8) & 0xFF);
        out(IdeBlock::Command, 5, (lba >> 16) & 0xFF);
    }
    void lba48(u64 lba, u16 count) {
        out(IdeBlock::Command, 6, 0x40);
        out(IdeBlock::Command, 2, count >> 8);
        out(IdeBlock::Command, 3, (lba >> 24) & 0xFF);
        out(IdeBlock::Command, 4, (lba >> 32) & 0xFF);
        out(IdeBlock::Command, 5, (lba >> 40) & 0xFF);
        out(IdeBlock::Command, 2, count & 0xFF);
        out(IdeBlock::Command, 3, lba & 0xFF);
        out(IdeBlock::Command, 4, (lba >> 8) & 0xFF);
        out(IdeBlock::Command, 5, (lba >> 16) & 0xFF);
    }
    void command(u8 op) { out(IdeBlock::Command, 7, op); }
    std::vector<u8> read_pio(size_t bytes) {
        std::vector<u8> v;
        for (size_t i = 0; i < bytes; i += 2) {
            u32 w = in(IdeBlock::Command, 0, 2);
            v.push_back(static_cast<u8>(w));
            v.push_back(static_cast<u8>(w >> 8));
        }
        return v;
    }
    void write_pio(u8 const* p, size_t bytes) {
        for (size_t i = 0; i < bytes; i += 2) out(IdeBlock::Command, 0, p[i] | p[i + 1] << 8, 2);
    }
    // A PRD table at `table` listing (address, bytes) regions; bytes 0x10000 encode as 0.
    void prd(u64 table, std::vector<std::pair<u32, u32>> const& regions) {
        for (size_t i = 0; i < regions.size(); ++i) {
            PrdEntry e{regions[i].first, static_cast<u16>(regions[i].second & 0xFFFF),
                       static_cast<u16>(i + 1 == regions.size() ? kPrdEot : 0)};
            memcpy(env.phys.data() + table + i * 8, &e, 8);
        }
        out(IdeBlock::BusMaster, 4, static_cast<u32>(table), 4);
    }
    void bm_start(bool to_memory) { out(IdeBlock::BusMaster, 0, (to_memory ? 0x08 : 0) | 0x01); }
    void bm_stop() { out(IdeBlock::BusMaster, 0, 0); }
    u8 bm_status() { return static_cast<u8>(in(IdeBlock::BusMaster, 2)); }
};

}  // namespace aoedisk
