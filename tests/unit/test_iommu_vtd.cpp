// VT-d: the identity tables leave out exactly the monitor's region for unmediated functions
// and nothing for mediated ones; the enable sequence programs the root table, invalidates and
// turns translation on, repeating the persistent command bits, and gives up on a unit that
// never answers; and which functions a DMAR table covers.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "drivers/iommu/dmar.hpp"
#include "drivers/iommu/vtd_tables.hpp"
#include "drivers/iommu/vtd_unit.hpp"
#include "tests/unit/dmar_table.hpp"

using namespace tv;
using namespace tv::iommu;

namespace {

class FakePages final : public PageSource {
  public:
    Status alloc_zeroed_page(Hpa* out) override {
        pages_.push_back(std::make_unique<Page>());
        *out = Hpa{0x100000000ull + 4096 * pages_.size()};
        return Status::Ok;
    }
    void* to_virt(Hpa h) override { return pages_.at((h.raw - 0x100000000ull) / 4096 - 1)->b; }
    size_t count() const { return pages_.size(); }

  private:
    struct Page {
        alignas(4096) u8 b[4096] = {};
    };
    std::vector<std::unique_ptr<Page>> pages_;
};

constexpr u64 kTop = 4ull << 30, kMon = 0x1DE00000, kMonSize = 34ull << 20;  // not 2 MiB aligned at the end

bool mediated_03(void*, u8 bus, u8 devfn) { return bus == 0 && devfn == (3 << 3); }

struct Built {
    FakePages ps;
    Hpa root{};
    explicit Built(u8 levels) {
        Hpa guarded{}, full{};
        EXPECT_EQ(build_identity(ps, levels, kTop, kMon, kMonSize, &guarded), Status::Ok);
        EXPECT_EQ(build_identity(ps, levels, kTop, 0, 0, &full), Status::Ok);
        EXPECT_EQ(build_root(ps, levels, guarded, full, mediated_03, nullptr, &root), Status::Ok);
    }
    bool reach(u8 bus, u8 devfn, u64 a) {
        u64 out = 0;
        bool w = false;
        bool const r = translate(ps, root, bus, devfn, a, &out, &w);
        EXPECT_TRUE(!r || (out == a && w)) << std::hex << a;  // identity, writable
        return r;
    }
};

}  // namespace

TEST(IommuVtdTables, UnmediatedFunctionsReachAllButTheMonitorsRegion) {
    for (u8 levels : {u8{3}, u8{4}}) {
        Built b(levels);
        u8 const nic2 = 4 << 3;
        EXPECT_TRUE(b.reach(0, nic2, 0));
        EXPECT_TRUE(b.reach(0, nic2, kMon - 1));
        EXPECT_FALSE(b.reach(0, nic2, kMon));
        EXPECT_FALSE(b.reach(0, nic2, kMon + 0x123456));
        EXPECT_FALSE(b.reach(0, nic2, kMon + kMonSize - 1));
        EXPECT_TRUE(b.reach(0, nic2, kMon + kMonSize));  // the rest of its 2 MiB block: 4 KiB pages
        EXPECT_TRUE(b.reach(0, nic2, kTop - 1));
        EXPECT_FALSE(b.reach(0, nic2, kTop));
        EXPECT_FALSE(b.reach(7, 0, kMon));  // another bus: the shared context table
        EXPECT_TRUE(b.reach(7, 0, 0x100000));
    }
}

TEST(IommuVtdTables, MediatedFunctionsReachEverything) {
    Built b(4);
    EXPECT_TRUE(b.reach(0, 3 << 3, kMon));
    EXPECT_TRUE(b.reach(0, 3 << 3, kMon + kMonSize - 1));
    EXPECT_FALSE(b.reach(0, (3 << 3) | 1, kMon));  // another function of the same device
}

TEST(IommuVtdTables, RefusesWhatTheLevelsCannotReach) {
    FakePages ps;
    Hpa r{};
    EXPECT_EQ(build_identity(ps, 3, (512ull << 30) + (2 << 20), 0, 0, &r), Status::Invalid);
    EXPECT_EQ(build_identity(ps, 5, kTop, 0, 0, &r), Status::Invalid);
    EXPECT_EQ(build_identity(ps, 4, kTop, 0x1000800, 0x1000, &r), Status::Invalid);
}

namespace {

// A unit that acts on its commands at once (or never, when `dead`).
class FakeUnit final : public VtdRegisters {
  public:
    u32 read32(u32 off) override { return off == kGsts ? gsts : 0; }
    u64 read64(u32 off) override {
        if (off == kCap) return cap;
        if (off == kEcap) return ecap;
        return regs[off];
    }
    void write32(u32 off, u32 v) override {
        if (off != kGcmd) return;
        gcmds.push_back(v);
        if (dead) return;
        gsts = (gsts & ~kPersistent) | (v & kPersistent);
        if (v & kSrtp) gsts |= kSrtp, rtaddr_latched = regs[kRtaddr];
    }
    void write64(u32 off, u64 v) override {
        order.push_back(off);
        regs[off] = dead ? v : v & ~(1ull << 63);  // invalidations complete at once
    }
    u64 cap = (1ull << 10) | (1ull << 9) | (1ull << 34) | (1ull << 4);  // 39/48-bit, 2 MiB pages, RWBF
    u64 ecap = u64{0x0F} << 8;                                          // IOTLB registers at 0xF0
    u32 gsts = 0;
    bool dead = false;
    u64 rtaddr_latched = 0;
    std::map<u32, u64> regs;
    std::vector<u32> gcmds;
    std::vector<u32> order;
};

}  // namespace

TEST(IommuVtdUnit, DecodesTheCapabilitiesItNeeds) {
    FakeUnit u;
    VtdCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(vtd_caps(u, &c, &why));
    EXPECT_EQ(c.levels, 4);
    EXPECT_TRUE(c.rwbf);
    EXPECT_EQ(c.iotlb_reg, 0xF8u);
    u.cap &= ~(1ull << 10);
    ASSERT_TRUE(vtd_caps(u, &c, &why));
    EXPECT_EQ(c.levels, 3);
    u.cap &= ~(1ull << 34);
    EXPECT_FALSE(vtd_caps(u, &c, &why));
    u.cap |= 1ull << 34;
    u.gsts = kQie;
    EXPECT_FALSE(vtd_caps(u, &c, &why));
}

TEST(IommuVtdUnit, EnablesInTheSpecifiedOrder) {
    FakeUnit u;
    u.gsts = kIre;  // left on by the firmware: every command repeats it
    VtdCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(vtd_caps(u, &c, &why));
    ASSERT_EQ(vtd_enable(u, c, 0x12345000), Status::Ok);
    EXPECT_EQ(u.rtaddr_latched, 0x12345000u);
    ASSERT_EQ(u.order.size(), 3u);  // root pointer, context cache, IOTLB
    EXPECT_EQ(u.order[0], kRtaddr);
    EXPECT_EQ(u.order[1], kCcmd);
    EXPECT_EQ(u.order[2], c.iotlb_reg);
    EXPECT_TRUE(u.gsts & kTe);
    for (u32 g : u.gcmds) EXPECT_TRUE(g & kIre);
    EXPECT_TRUE(u.gcmds.back() & kTe);
}

TEST(IommuVtdUnit, GivesUpOnAUnitThatNeverAnswers) {
    FakeUnit u;
    VtdCaps c{};
    char const* why = nullptr;
    ASSERT_TRUE(vtd_caps(u, &c, &why));
    u.dead = true;
    EXPECT_EQ(vtd_enable(u, c, 0x12345000, 1000), Status::Unsupported);
    EXPECT_FALSE(u.gsts & kTe);
}

namespace {
bool bridge_at_1c(void*, u8 bus, u8 dev, u8 fn, u8* sec, u8* sub) {
    if (bus != 0 || dev != 0x1C || fn != 0) return false;
    *sec = 2, *sub = 3;
    return true;
}
}  // namespace

TEST(IommuDmarCoverage, EndpointsBridgesAndIncludeAll) {
    tv::test::DmarTable t;
    std::vector<u8> scopes = tv::test::DmarTable::endpoint(0, 2, 0);
    std::vector<u8> bridge = {2, 8, 0, 0, 0, 0, 0x1C, 0};
    std::vector<u8> deep = {1, 10, 0, 0, 0, 0, 0x1C, 0, 0, 0};  // through the bridge: not followed
    scopes.insert(scopes.end(), bridge.begin(), bridge.end());
    scopes.insert(scopes.end(), deep.begin(), deep.end());
    t.drhd(0xFED90000, false, 0, scopes);
    DmarInfo info{};
    ASSERT_EQ(dmar_parse(t.bytes().data(), t.bytes().size(), &info), DmarError::None);
    EXPECT_TRUE(dmar_covers(info, 0, 2, 0, bridge_at_1c, nullptr));
    EXPECT_FALSE(dmar_covers(info, 0, 2, 1, bridge_at_1c, nullptr));
    EXPECT_TRUE(dmar_covers(info, 0, 0x1C, 0, bridge_at_1c, nullptr));
    EXPECT_TRUE(dmar_covers(info, 3, 0, 0, bridge_at_1c, nullptr));
    EXPECT_FALSE(dmar_covers(info, 4, 0, 0, bridge_at_1c, nullptr));
    EXPECT_FALSE(dmar_covers(info, 0, 4, 0, bridge_at_1c, nullptr));
    tv::test::DmarTable all;
    all.drhd(0xFED90000, true);
    ASSERT_EQ(dmar_parse(all.bytes().data(), all.bytes().size(), &info), DmarError::None);
    EXPECT_TRUE(dmar_covers(info, 9, 9, 1, nullptr, nullptr));
}
