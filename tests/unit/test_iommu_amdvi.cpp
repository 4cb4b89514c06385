// AMD-Vi: the IVRS parser reads units, device ranges, aliases and memory blocks and refuses every
// malformed shape whole; the device table gives every requester ID an entry, the guarded one
// leaving out exactly the monitor's region; the enable sequence programs the unit, turns it on
// and waits for its invalidations, giving up on a unit that never completes.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "drivers/iommu/amdvi_interrupts.hpp"
#include "drivers/iommu/amdvi_tables.hpp"
#include "drivers/iommu/amdvi_unit.hpp"
#include "drivers/iommu/ivrs.hpp"
#include "tests/unit/ivrs_table.hpp"

using namespace tv;
using namespace tv::iommu;
using tv::test::IvrsTable;

namespace {

IvrsError parse(IvrsTable const& t, IvrsInfo* info) { return ivrs_parse(t.bytes().data(), t.bytes().size(), info); }

// QEMU 7.2's table for q35 with -device amd-iommu (dumped from a guest): one IVHD 10h at
// 0xfed80000 selecting the bus-0 functions, and the IOAPIC as a special entry.
std::vector<u8> const kQemuIvrs = {
    0x49, 0x56, 0x52, 0x53, 0x70, 0x00, 0x00, 0x00, 0x01, 0xf7, 0x42, 0x4f, 0x43, 0x48, 0x53, 0x20, 0x42, 0x58, 0x50,
    0x43, 0x20, 0x20, 0x20, 0x20, 0x01, 0x00, 0x00, 0x00, 0x42, 0x58, 0x50, 0x43, 0x01, 0x00, 0x00, 0x00, 0x00, 0x28,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0xd1, 0x40, 0x00, 0x10, 0x00, 0x40, 0x00, 0x00,
    0x00, 0xd8, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x44, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
    0x02, 0x08, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0x02, 0x20, 0x00, 0x00, 0x02, 0xf8, 0x00,
    0x00, 0x02, 0xfa, 0x00, 0x00, 0x02, 0xfb, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x01};

bool covers(IvrsInfo const& info, u16 id, u16* req = nullptr) {
    u16 r = 0;
    bool const c = ivrs_covers(info, id, &r);
    if (req) *req = r;
    return c;
}

}  // namespace

TEST(IommuIvrs, ReadsQemusTable) {
    IvrsInfo info{};
    ASSERT_EQ(ivrs_parse(kQemuIvrs.data(), kQemuIvrs.size(), &info), IvrsError::None);
    ASSERT_EQ(info.unit_count, 1u);
    EXPECT_EQ(info.units[0].reg_base, 0xFED80000u);
    EXPECT_EQ(info.units[0].devid, ivrs_devid(0, 2, 0));
    EXPECT_EQ(info.units[0].cap_offset, 0x40);
    EXPECT_EQ(info.range_count, 8u);
    EXPECT_TRUE(covers(info, ivrs_devid(0, 3, 0)));
    EXPECT_TRUE(covers(info, ivrs_devid(0, 0x1F, 2)));
    EXPECT_FALSE(covers(info, ivrs_devid(0, 5, 0)));  // not listed
    EXPECT_FALSE(covers(info, 0xA000));               // the IOAPIC's special entry is no PCI function
    EXPECT_EQ(info.ioapic_count, 1u);                 // ... but says its interrupts pass the unit
    EXPECT_EQ(info.ioapic_devid, 0x00A0);
}

TEST(IommuIvrs, CountsOnlyIoApicSpecialEntriesOfSegmentZero) {
    std::vector<u8> hpet = IvrsTable::e8(0x48, 0, 0x00A8), ioapic = IvrsTable::e8(0x48, 0, 0x00A0);
    hpet[7] = 2, ioapic[7] = 1;
    IvrsTable t;
    t.ivhd(0x10, 0xFEB80000, 0x0002, IvrsTable::cat({IvrsTable::e4(2, 0x0008), hpet}));
    IvrsInfo info{};
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    EXPECT_EQ(info.ioapic_count, 0u);  // an HPET only: no interrupt filtering
    t.ivhd(0x10, 0xFEC80000, 0x0003, ioapic, 1);
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    EXPECT_EQ(info.ioapic_count, 0u);  // on another segment
    t.ivhd(0x10, 0xFED80000, 0x0004, ioapic);
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    EXPECT_EQ(info.ioapic_count, 1u);
    EXPECT_EQ(info.ioapic_devid, 0x00A0);
    ASSERT_EQ(info.special_count, 2u);  // the HPET is listed too (its messages stay unremapped)
    EXPECT_EQ(info.specials[0].variety, 2);
    EXPECT_EQ(info.specials[0].devid, 0x00A8);
    EXPECT_EQ(info.specials[1].variety, 1);
    EXPECT_FALSE(info.specials_dropped);
}

TEST(IommuIvrs, ReadsRangesAliasesAndMemoryBlocks) {
    IvrsTable t;
    t.ivhd(0x10, 0xFEB80000, 0x0002,
           IvrsTable::cat({IvrsTable::e4(3, 0x0100), IvrsTable::e4(4, 0x01FF), IvrsTable::e8(0x42, 0x0300, 0x0208),
                           IvrsTable::e8(0x43, 0x0400, 0x0210), IvrsTable::e4(4, 0x04FF), IvrsTable::e8(0x48, 0)}));
    t.ivhd(0x11, 0xFEB80000, 0x0002, IvrsTable::e4(2, 0x0008));  // the same unit again: counted once
    t.ivmd(0x20, 0xE0000, 0x20000);
    IvrsInfo info{};
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    EXPECT_EQ(info.unit_count, 1u);
    EXPECT_EQ(info.ivinfo, 40u << 8);
    u16 req = 0;
    EXPECT_TRUE(covers(info, 0x0180, &req));
    EXPECT_EQ(req, 0x0180);
    EXPECT_FALSE(covers(info, 0x0200));
    EXPECT_TRUE(covers(info, 0x0300, &req));
    EXPECT_EQ(req, 0x0208);  // its DMA arrives under the bridge's ID
    EXPECT_TRUE(covers(info, 0x04AB, &req));
    EXPECT_EQ(req, 0x0210);
    EXPECT_TRUE(covers(info, 0x0008));
    ASSERT_EQ(info.reserved_count, 1u);
    EXPECT_EQ(info.reserved[0].limit, 0xFFFFFu);
}

TEST(IommuIvrs, AnAllEntryCoversEveryId) {
    IvrsTable t;
    t.ivhd(0x40, 0xFEB80000, 0x0002, IvrsTable::e4(1, 0));
    IvrsInfo info{};
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    EXPECT_TRUE(covers(info, 0));
    EXPECT_TRUE(covers(info, 0xFFFF));
}

TEST(IommuIvrs, OnlySegmentZeroUnitsCover) {
    IvrsTable t;
    t.ivhd(0x10, 0xFEB80000, 0x0002, IvrsTable::e4(1, 0), 1);
    IvrsInfo info{};
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    EXPECT_EQ(info.units[0].segment, 1);
    EXPECT_FALSE(covers(info, 0x0010));
}

TEST(IommuIvrs, FencesCoveredIdsUnlessTheirDmaCarriesAMediatedId) {
    IvrsTable t;
    t.ivhd(0x10, 0xFEB80000, 0x0002,
           IvrsTable::cat({IvrsTable::e4(2, 0x0018), IvrsTable::e4(2, 0x0020), IvrsTable::e8(0x42, 0x0300, 0x0208)}));
    IvrsInfo info{};
    ASSERT_EQ(parse(t, &info), IvrsError::None);
    u16 const mediated[] = {0x0018, 0x0208};  // a NIC, and a function behind the bridge 02:01.0
    EXPECT_TRUE(ivrs_fences(info, 0x0020, mediated, 2));
    EXPECT_FALSE(ivrs_fences(info, 0x0300, mediated, 2));  // its DMA arrives as 0x0208: the full map
    EXPECT_TRUE(ivrs_fences(info, 0x0300, mediated, 1));
    EXPECT_FALSE(ivrs_fences(info, 0x0028, mediated, 2));  // not covered: the bus-master policy's
}

TEST(IommuIvrs, RefusesTruncatedAndForeignTables) {
    IvrsTable t;
    t.ivhd(0x10, 0xFEB80000, 0x0002, IvrsTable::e4(1, 0));
    IvrsInfo info{};
    std::vector<u8> b = t.bytes();
    EXPECT_EQ(ivrs_parse(b.data(), b.size() - 1, &info), IvrsError::Short);
    EXPECT_EQ(ivrs_parse(b.data(), 40, &info), IvrsError::Short);
    b[0] = 'X';
    EXPECT_EQ(ivrs_parse(b.data(), b.size(), &info), IvrsError::Signature);
    EXPECT_EQ(parse(IvrsTable{}, &info), IvrsError::NoUnit);
    EXPECT_EQ(parse(IvrsTable{}.ivmd(0x20, 0xE0000, 0x1000), &info), IvrsError::NoUnit);
}

TEST(IommuIvrs, RefusesMalformedBlocksAndEntries) {
    IvrsInfo info{};
    auto unit = [](std::vector<u8> entries, u16 length = 0) {
        return IvrsTable{}.ivhd(0x10, 0xFEB80000, 2, std::move(entries), 0, length);
    };
    EXPECT_EQ(parse(unit({}, 200), &info), IvrsError::Structure);                     // past the end
    EXPECT_EQ(parse(unit({}, 3), &info), IvrsError::Structure);                       // length < 4
    EXPECT_EQ(parse(unit({}, 20), &info), IvrsError::Structure);                      // shorter than its header
    EXPECT_EQ(parse(IvrsTable{}.ivhd(0x10, 0xFEB80800, 2, {}), &info), IvrsError::Structure);  // unaligned
    EXPECT_EQ(parse(IvrsTable{}.ivhd(0x10, 0, 2, {}), &info), IvrsError::Structure);
    EXPECT_EQ(parse(unit({2, 0, 0}), &info), IvrsError::Structure);                   // a cut 4-byte entry
    EXPECT_EQ(parse(unit({0x42, 0, 0, 0}), &info), IvrsError::Structure);             // a cut 8-byte entry
    EXPECT_EQ(parse(unit(IvrsTable::e4(0x81, 0)), &info), IvrsError::Structure);      // no length known
    std::vector<u8> hid(22, 0);
    hid[0] = 0xF0, hid[21] = 8;  // a UID past the block
    EXPECT_EQ(parse(unit(hid), &info), IvrsError::Structure);
    hid[21] = 0;
    EXPECT_EQ(parse(unit(hid), &info), IvrsError::None);
    EXPECT_EQ(parse(unit(IvrsTable::e4(3, 0x100)), &info), IvrsError::Structure);     // a range never closed
    EXPECT_EQ(parse(unit(IvrsTable::e4(4, 0x100)), &info), IvrsError::Structure);     // an end without a start
    EXPECT_EQ(parse(unit(IvrsTable::cat({IvrsTable::e4(3, 0x200), IvrsTable::e4(4, 0x100)})), &info),
              IvrsError::Structure);  // backwards
    EXPECT_EQ(parse(unit(IvrsTable::cat({IvrsTable::e4(3, 0x100), IvrsTable::e4(3, 0x180), IvrsTable::e4(4, 0x200)})),
                    &info),
              IvrsError::Structure);  // two starts
    IvrsTable t = unit(IvrsTable::e4(1, 0));
    EXPECT_EQ(parse(IvrsTable(t).ivmd(0x21, 0xE0800, 0x1000), &info), IvrsError::Structure);  // unaligned memory
    EXPECT_EQ(parse(IvrsTable(t).ivmd(0x22, 0xE0000, 0), &info), IvrsError::Structure);       // empty
    EXPECT_EQ(parse(IvrsTable(t).ivmd(0x22, ~0xFFFull, 0x2000), &info), IvrsError::Structure);  // wraps
    EXPECT_EQ(parse(IvrsTable(t).raw({0x30, 0, 8, 0, 0, 0, 0, 0}), &info), IvrsError::None);   // unknown type: skipped
    EXPECT_EQ(parse(IvrsTable(t).raw({0x30, 0, 2, 0}), &info), IvrsError::Structure);
}

TEST(IommuIvrs, RefusesMoreThanItHolds) {
    IvrsInfo info{};
    IvrsTable units;
    for (u32 i = 0; i <= IvrsInfo::kMaxUnits; ++i) units.ivhd(0x10, 0xFEB80000 + (u64{i} << 14), 2, {});
    EXPECT_EQ(parse(units, &info), IvrsError::TooMany);
    std::vector<u8> many;
    for (u32 i = 0; i <= IvrsInfo::kMaxRanges; ++i) {
        auto e = IvrsTable::e4(2, static_cast<u16>(i));
        many.insert(many.end(), e.begin(), e.end());
    }
    EXPECT_EQ(parse(IvrsTable{}.ivhd(0x10, 0xFEB80000, 2, many), &info), IvrsError::TooMany);
}

namespace {

class FakePages final : public PageSource {
  public:
    Status alloc_zeroed_page(Hpa* out) override {
        pages_.push_back(std::make_unique<Page>());
        *out = Hpa{0x100000000ull + 4096 * pages_.size()};
        return Status::Ok;
    }
    void* to_virt(Hpa h) override { return pages_.at((h.raw - 0x100000000ull) / 4096 - 1)->b; }

  private:
    struct Page {
        alignas(4096) u8 b[4096] = {};
    };
    std::vector<std::unique_ptr<Page>> pages_;
};

constexpr u64 kTop = 4ull << 30, kMon = 0x1DE00000, kMonSize = 34ull << 20;  // not 2 MiB aligned at the end
constexpr u16 kNic = 0x0018;                                                  // 00:03.0, mediated

bool mediated_nic(void*, u16 id) { return id == kNic; }

struct Built {
    FakePages ps;
    std::vector<DeviceTableEntry> table = std::vector<DeviceTableEntry>(kDeviceIds);
    explicit Built(u8 levels, bool filter = true) {
        Hpa guarded{}, full{};
        EXPECT_EQ(amdvi_build_identity(ps, levels, kTop, kMon, kMonSize, &guarded), Status::Ok);
        EXPECT_EQ(amdvi_build_identity(ps, levels, kTop, 0, 0, &full), Status::Ok);
        amdvi_fill_device_table(table.data(), levels, guarded, full, mediated_nic, nullptr,
                                filter ? amdvi_dte_interrupts(0x7000) : 0);
    }
    bool reach(u16 id, u64 a) {
        u64 out = 0;
        bool w = false;
        bool const r = amdvi_translate(ps, table.data(), id, a, &out, &w);
        EXPECT_TRUE(!r || (out == a && w)) << std::hex << a;  // identity, writable
        return r;
    }
};

}  // namespace

TEST(IommuAmdViTables, UnmediatedIdsReachAllButTheMonitorsRegion) {
    for (u8 levels : {u8{3}, u8{4}}) {
        Built b(levels);
        u16 const nic2 = 0x0020;
        EXPECT_TRUE(b.reach(nic2, 0));
        EXPECT_TRUE(b.reach(nic2, kMon - 1));
        EXPECT_FALSE(b.reach(nic2, kMon));
        EXPECT_FALSE(b.reach(nic2, kMon + 0x123456));
        EXPECT_FALSE(b.reach(nic2, kMon + kMonSize - 1));
        EXPECT_TRUE(b.reach(nic2, kMon + kMonSize));  // the rest of its 2 MiB block: 4 KiB pages
        EXPECT_TRUE(b.reach(nic2, kTop - 1));
        EXPECT_FALSE(b.reach(nic2, kTop));
        EXPECT_FALSE(b.reach(nic2, (1ull << 48) + kMon - (1ull << 30)));  // past what the mode translates
        EXPECT_FALSE(b.reach(0xFFFF, kMon));  // every ID has an entry: the last bus too
        EXPECT_FALSE(b.reach(0x0700, kMon));
        EXPECT_TRUE(b.reach(0x0700, 0x100000));
    }
}

TEST(IommuAmdViTables, MediatedIdsReachEverything) {
    Built b(4);
    EXPECT_TRUE(b.reach(kNic, kMon));
    EXPECT_TRUE(b.reach(kNic, kMon + kMonSize - 1));
    EXPECT_FALSE(b.reach(kNic | 1, kMon));  // another function of the same device
}

TEST(IommuAmdViTables, EntriesHaveTheFieldsTheUnitChecks) {
    Built b(4);
    DeviceTableEntry const& e = b.table[0x0020];
    EXPECT_EQ(e.q[0] & 3, 3u);                        // V, TV
    EXPECT_EQ((e.q[0] >> 9) & 7, 4u);                 // mode: 4 levels
    EXPECT_EQ(e.q[0] >> 61, 3u);                      // IR, IW; bit 63 reserved
    EXPECT_EQ(e.q[0] & 0xFC, 0u);                     // bits 7:2 reserved (QEMU checks them)
    EXPECT_EQ(e.q[1], u64{kAmdDomainGuarded});
    EXPECT_EQ(e.q[2] & 0x08F0000000000000ull, 0u);  // reserved (QEMU 7.2 refuses the entry)
    EXPECT_EQ(e.q[2], amdvi_dte_interrupts(0x7000));
    EXPECT_EQ(e.q[3], 0u);                           // QEMU 7.2 refuses any bit set here
    EXPECT_EQ(b.table[kNic].q[1], u64{kAmdDomainMediated});
}

TEST(IommuAmdViTables, RefusesWhatTheLevelsCannotReach) {
    FakePages ps;
    Hpa r{};
    EXPECT_EQ(amdvi_build_identity(ps, 3, (512ull << 30) + (2 << 20), 0, 0, &r), Status::Invalid);
    EXPECT_EQ(amdvi_build_identity(ps, 5, kTop, 0, 0, &r), Status::Invalid);
    EXPECT_EQ(amdvi_build_identity(ps, 4, kTop, 0x1000800, 0x1000, &r), Status::Invalid);
}

TEST(IommuAmdViTables, CommandsHaveTheirOpcodesAndFields) {
    AmdViCommand const w = cmd_completion_wait(0x12345678, 7);
    EXPECT_EQ(w.lo >> 60, 1u);
    EXPECT_EQ(w.lo & 1, 1u);  // store
    EXPECT_EQ(w.lo & 0x000FFFFFFFFFFFF8ull, 0x12345678u);
    EXPECT_EQ(w.hi, 7u);
    AmdViCommand const d = cmd_invalidate_devtab_entry(0xABCD);
    EXPECT_EQ(d.lo, (2ull << 60) | 0xABCD);
    AmdViCommand const p = cmd_invalidate_domain_pages(2);
    EXPECT_EQ(p.lo, (3ull << 60) | (2ull << 32));
    EXPECT_EQ(p.hi & 3, 3u);  // size, PDE
    EXPECT_EQ(cmd_invalidate_all().lo, 8ull << 60);
}

namespace {

// A unit that runs its command buffer when the tail moves (or never completes, when `dead`).
class FakeUnit final : public AmdViRegisters {
  public:
    explicit FakeUnit(AmdViRing* ring) : ring_(ring) {}
    u64 read64(u32 off) override { return off == kAmdEfr ? efr : regs[off]; }
    void write64(u32 off, u64 v) override {
        order.push_back(off);
        regs[off] = v;
        if (off == kAmdCmdBase || off == kAmdCmdHead) head_ = 0;
        if (off == kAmdCmdTail && (regs[kAmdControl] & kAmdCmdBufEn) && !dead) run(static_cast<u32>(v / 16));
    }
    u64 efr = 0x29d3;  // QEMU 7.2's: IASup, HATS 2
    bool dead = false;
    std::map<u32, u64> regs;
    std::vector<u32> order;
    std::vector<AmdViCommand> done;

  private:
    void run(u32 tail) {
        u32 const mask = (1u << ring_->count_log2) - 1;
        while (head_ != tail) {
            AmdViCommand const c = ring_->entries[head_];
            done.push_back(c);
            if (c.lo >> 60 == 1 && (c.lo & 0x000FFFFFFFFFFFF8ull) == ring_->slot_hpa) *ring_->slot = c.hi;
            head_ = (head_ + 1) & mask;
        }
    }
    AmdViRing* ring_;
    u32 head_ = 0;
};

struct Ring {
    std::vector<AmdViCommand> entries = std::vector<AmdViCommand>(256);
    u64 slot = 0;
    AmdViRing r{entries.data(), 0x7000000, 8, &slot, 0x7001000, 0, 0, 0};
};

}  // namespace

TEST(IommuAmdViUnit, DecodesTheFeaturesItNeeds) {
    Ring g;
    FakeUnit u(&g.r);
    AmdViCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(amdvi_caps(u, &c, &why));
    EXPECT_TRUE(c.invalidate_all);
    EXPECT_EQ(c.max_levels, 6);
    EXPECT_EQ(c.reg_bytes, 16u << 10);
    u.efr = kEfrPcSup | (3ull << 10);
    EXPECT_FALSE(amdvi_caps(u, &c, &why));
    u.efr = kEfrPcSup;
    ASSERT_TRUE(amdvi_caps(u, &c, &why));
    EXPECT_FALSE(c.invalidate_all);
    EXPECT_EQ(c.reg_bytes, 512u << 10);
}

TEST(IommuAmdViUnit, EnablesInTheSpecifiedOrderAndWaitsForTheInvalidation) {
    Ring g;
    FakeUnit u(&g.r);
    u.regs[kAmdControl] = kAmdIommuEn;  // left on by the firmware
    AmdViCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(amdvi_caps(u, &c, &why));
    ASSERT_EQ(amdvi_enable(u, c, 0x12200000, g.r, nullptr, 0), Status::Ok);
    ASSERT_GE(u.order.size(), 8u);
    EXPECT_EQ(u.order[0], kAmdControl);  // off first
    EXPECT_EQ(u.regs[kAmdDevTab], 0x12200000u | 0x1FF);
    EXPECT_EQ(u.regs[kAmdCmdBase], 0x7000000u | (8ull << 56));
    EXPECT_EQ(u.regs[kAmdExclBase] | u.regs[kAmdExclLimit], 0u);
    EXPECT_EQ(u.regs[kAmdControl], kAmdIommuEn | kAmdCmdBufEn);
    ASSERT_EQ(u.done.size(), 2u);
    EXPECT_EQ(u.done[0].lo >> 60, 8u);  // INVALIDATE_IOMMU_ALL
    EXPECT_EQ(u.done[1].lo >> 60, 1u);  // COMPLETION_WAIT
    EXPECT_EQ(g.slot, g.r.token);
}

TEST(IommuAmdViUnit, WithoutInvalidateAllEachIdAndDomainIsInvalidated) {
    Ring g;
    FakeUnit u(&g.r);
    u.efr = 0;
    AmdViCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(amdvi_caps(u, &c, &why));
    IvrsRange const ids[] = {{0x0000, 0x00FF, 0, false}, {0x0300, 0x0300, 0, false}};  // more than a ring holds
    ASSERT_EQ(amdvi_enable(u, c, 0x12200000, g.r, ids, 2), Status::Ok);
    size_t devtab = 0, pages = 0, waits = 0;
    for (AmdViCommand const& d : u.done) {
        devtab += d.lo >> 60 == 2;
        pages += d.lo >> 60 == 3;
        waits += d.lo >> 60 == 1;
    }
    EXPECT_EQ(devtab, 257u);
    EXPECT_EQ(pages, 2u);
    EXPECT_EQ(waits, 2u);  // the ring filled once
    EXPECT_EQ(u.done.back().lo >> 60, 1u);
}

TEST(IommuAmdViUnit, GivesUpOnAUnitThatNeverCompletes) {
    Ring g;
    FakeUnit u(&g.r);
    u.dead = true;
    AmdViCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(amdvi_caps(u, &c, &why));
    EXPECT_EQ(amdvi_enable(u, c, 0x12200000, g.r, nullptr, 0, 1000), Status::Unsupported);
}
