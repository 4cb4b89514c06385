// The guest page-table walker against page tables built in a fake guest memory: every
// paging mode and page size, the access rules and the #PF error code.
#include <gtest/gtest.h>
#include <string.h>

#include <map>

#include "core/guest_paging.hpp"

using namespace tv;

namespace {

constexpr u64 P = 1, RW = 2, US = 4, A = 1u << 5, D = 1u << 6, PS = 1u << 7;
constexpr u64 XD = 1ull << 63;

// Sparse guest-physical memory; a range of it can be made unreadable (the monitor's region).
class FakeMemory final : public GuestMemoryReader {
  public:
    bool read_entry(Gpa gpa, u8 size, u64* v) override {
        if (refused(gpa.raw)) return false;
        *v = 0;
        memcpy(v, byte(gpa.raw), size);
        ++reads;
        return true;
    }
    bool set_entry_bits(Gpa gpa, u8 size, u64 bits) override {
        if (refused(gpa.raw)) return false;
        u64 v = 0;
        memcpy(&v, byte(gpa.raw), size);
        v |= bits;
        memcpy(byte(gpa.raw), &v, size);
        return true;
    }
    void put64(u64 gpa, u64 v) { memcpy(byte(gpa), &v, 8); }
    void put32(u64 gpa, u32 v) { memcpy(byte(gpa), &v, 4); }
    u64 get64(u64 gpa) {
        u64 v;
        memcpy(&v, byte(gpa), 8);
        return v;
    }
    u64 hidden_base = 0, hidden_size = 0;
    int reads = 0;

  private:
    bool refused(u64 gpa) const { return gpa >= hidden_base && gpa - hidden_base < hidden_size; }
    u8* byte(u64 gpa) {
        auto& page = pages_[gpa >> 12];
        if (page.empty()) page.assign(4096, 0);
        return &page[gpa & 0xFFF];
    }
    std::map<u64, std::vector<u8>> pages_;
};

GuestPagingState long_mode() { return GuestPagingState{kCr0Pe | kCr0Pg | kCr0Wp, 0x1000, kCr4Pae, kEferLma | kEferNxe, 0, false, 0}; }
GuestPagingState pae_mode() { return GuestPagingState{kCr0Pe | kCr0Pg | kCr0Wp, 0x1020, kCr4Pae, kEferNxe, 0, false, 0}; }
GuestPagingState legacy_mode() { return GuestPagingState{kCr0Pe | kCr0Pg | kCr0Wp, 0x1000, kCr4Pse, 0, 0, false, 0}; }

constexpr GuestAccess kRead{false, false}, kWrite{true, false}, kFetch{false, true};

// 4-level tables at 0x1000 (PML4), 0x2000 (PDPT), 0x3000 (PD), 0x4000 (PT) mapping
// linear 0x7f0000201000 (PML4 254, PDPT 0, PD 1, PT 1).
constexpr u64 kLinear = 0x7F0000201000ull + 0x234;
void build_long(FakeMemory& m, u64 rights = RW | US) {
    m.put64(0x1000 + 254 * 8, 0x2000 | P | rights);
    m.put64(0x2000 + 0 * 8, 0x3000 | P | rights);
    m.put64(0x3000 + 1 * 8, 0x4000 | P | rights);
    m.put64(0x4000 + 1 * 8, 0xABCDE000 | P | rights);
}

WalkStatus walk(GuestPagingState const& s, u64 linear, GuestAccess a, FakeMemory& m, Translation* t) {
    return guest_translate(s, linear, a, m, t);
}

}  // namespace

TEST(GuestPaging, WithPagingOffLinearIsPhysicalTruncatedOutsideLongMode) {
    FakeMemory m;
    Translation t;
    GuestPagingState real{0x10, 0, 0, 0, 0, false, 0};
    ASSERT_EQ(walk(real, 0x1'0000'FFF0ull, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0xFFF0u);
    EXPECT_EQ(m.reads, 0);
}

TEST(GuestPaging, FourLevelFourKiBPageTranslatesAndSetsAccessedAndDirty) {
    FakeMemory m;
    build_long(m);
    Translation t;
    ASSERT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0xABCDE234u);
    EXPECT_EQ(t.page_size, 4096u);
    EXPECT_TRUE(m.get64(0x1000 + 254 * 8) & A);
    EXPECT_TRUE(m.get64(0x4000 + 8) & A);
    EXPECT_FALSE(m.get64(0x4000 + 8) & D);  // a read does not dirty
    ASSERT_EQ(walk(long_mode(), kLinear, kWrite, m, &t), WalkStatus::Ok);
    EXPECT_TRUE(m.get64(0x4000 + 8) & D);
    EXPECT_FALSE(m.get64(0x3000 + 8) & D);  // only the final entry
}

TEST(GuestPaging, TwoMiBAndOneGiBPagesEndTheWalkEarly) {
    FakeMemory m;
    build_long(m);
    m.put64(0x3000 + 1 * 8, 0x40000000ull | P | RW | PS);  // 2 MiB page
    Translation t;
    ASSERT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x40000000ull + (kLinear & 0x1FFFFF));
    EXPECT_EQ(t.page_size, 2u << 20);
    m.put64(0x2000, 0x1'C0000000ull | P | RW | PS);  // 1 GiB page at 7 GiB
    ASSERT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x1'C0000000ull + (kLinear & 0x3FFFFFFF));
    EXPECT_EQ(t.page_size, 1u << 30);
}

TEST(GuestPaging, MissingEntryGivesANotPresentErrorCodeDescribingTheAccess) {
    FakeMemory m;
    build_long(m);
    m.put64(0x3000 + 8, 0);
    Translation t;
    ASSERT_EQ(walk(long_mode(), kLinear, kWrite, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfWrite);
    GuestPagingState user = long_mode();
    user.cpl = 3;
    ASSERT_EQ(walk(user, kLinear, kFetch, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfUser | kPfFetch);  // I/D because NXE is on
}

TEST(GuestPaging, WriteToReadOnlyPageFaultsOnlyWhenWriteProtectApplies) {
    FakeMemory m;
    build_long(m, US);  // no RW anywhere
    Translation t;
    ASSERT_EQ(walk(long_mode(), kLinear, kWrite, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfWrite);
    GuestPagingState no_wp = long_mode();
    no_wp.cr0 &= ~kCr0Wp;
    EXPECT_EQ(walk(no_wp, kLinear, kWrite, m, &t), WalkStatus::Ok);  // supervisor ignores R/W
    no_wp.cpl = 3;
    ASSERT_EQ(walk(no_wp, kLinear, kWrite, m, &t), WalkStatus::PageFault);  // a user never does
    EXPECT_EQ(t.pf_error, kPfPresent | kPfWrite | kPfUser);
}

TEST(GuestPaging, RightsAreTheIntersectionOfEveryLevel) {
    FakeMemory m;
    build_long(m);
    m.put64(0x2000, 0x3000 | P | US);  // the PDPTE alone is read-only
    Translation t;
    EXPECT_EQ(walk(long_mode(), kLinear, kWrite, m, &t), WalkStatus::PageFault);
    m.put64(0x2000, 0x3000 | P | RW);  // ... or supervisor-only
    GuestPagingState user = long_mode();
    user.cpl = 3;
    ASSERT_EQ(walk(user, kLinear, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfUser);
}

TEST(GuestPaging, ExecuteDisableStopsFetchesButNotReads) {
    FakeMemory m;
    build_long(m);
    m.put64(0x1000 + 254 * 8, 0x2000 | P | RW | US | XD);
    Translation t;
    EXPECT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::Ok);
    ASSERT_EQ(walk(long_mode(), kLinear, kFetch, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfFetch);
}

TEST(GuestPaging, ExecuteDisableBitIsReservedWhenNxeIsOff) {
    FakeMemory m;
    build_long(m);
    m.put64(0x4000 + 8, 0xABCDE000 | P | RW | XD);
    GuestPagingState s = long_mode();
    s.efer &= ~kEferNxe;
    Translation t;
    ASSERT_EQ(walk(s, kLinear, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfReserved);
}

TEST(GuestPaging, ReservedBitsFaultWithRsvd) {
    FakeMemory m;
    Translation t;
    build_long(m);
    m.put64(0x3000 + 8, 0x40002000ull | P | RW | PS);  // 2 MiB page with bit 13 set
    ASSERT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfReserved);
    build_long(m);
    m.put64(0x1000 + 254 * 8, 0x2000 | P | RW | PS);  // PML4 entries have no large form
    EXPECT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::PageFault);
    build_long(m);
    GuestPagingState narrow = long_mode();
    narrow.maxphyaddr = 36;
    m.put64(0x4000 + 8, 0x10'ABCDE000ull | P | RW);  // bit 36: beyond a 36-bit CPU
    ASSERT_EQ(walk(narrow, kLinear, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfReserved);
    EXPECT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::Ok);
}

TEST(GuestPaging, SmepBlocksSupervisorFetchesFromUserPages) {
    FakeMemory m;
    build_long(m);
    GuestPagingState s = long_mode();
    s.cr4 |= kCr4Smep;
    Translation t;
    ASSERT_EQ(walk(s, kLinear, kFetch, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfFetch);
    EXPECT_EQ(walk(s, kLinear, kRead, m, &t), WalkStatus::Ok);
}

TEST(GuestPaging, SmapBlocksSupervisorDataAccessToUserPagesUnlessAcIsSet) {
    FakeMemory m;
    build_long(m);
    GuestPagingState s = long_mode();
    s.cr4 |= kCr4Smap;
    Translation t;
    ASSERT_EQ(walk(s, kLinear, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent);
    s.rflags_ac = true;
    EXPECT_EQ(walk(s, kLinear, kWrite, m, &t), WalkStatus::Ok);
    EXPECT_EQ(walk(s, kLinear, kFetch, m, &t), WalkStatus::Ok);  // SMAP is about data only
}

TEST(GuestPaging, NonCanonicalAddressIsNotAPageFault) {
    FakeMemory m;
    Translation t;
    EXPECT_EQ(walk(long_mode(), 0x0000800000000000ull, kRead, m, &t), WalkStatus::NonCanonical);
    EXPECT_EQ(walk(long_mode(), 0xFFFF7FFFFFFFF000ull, kRead, m, &t), WalkStatus::NonCanonical);
    EXPECT_EQ(m.reads, 0);
}

TEST(GuestPaging, FiveLevelPagingAddsALevelAboveThePml4) {
    FakeMemory m;
    build_long(m);  // PML4 at 0x1000 ...
    m.put64(0x9000 + 1 * 8, 0x1000 | P | RW | US);  // ... under PML5 entry 1
    GuestPagingState s = long_mode();
    s.cr3 = 0x9000;
    s.cr4 |= kCr4La57;
    u64 const linear = (1ull << 48) | kLinear;  // 57-bit canonical, not 48-bit canonical
    Translation t;
    ASSERT_EQ(walk(s, linear, kWrite, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0xABCDE234u);
    EXPECT_TRUE(m.get64(0x9000 + 8) & A);
    EXPECT_EQ(walk(long_mode(), linear, kRead, m, &t), WalkStatus::NonCanonical);
    EXPECT_EQ(walk(s, 0x0100000000000000ull, kRead, m, &t), WalkStatus::NonCanonical);
    m.put64(0x9000 + 8, 0x1000 | P | RW | PS);  // no large pages at the top level
    ASSERT_EQ(walk(s, linear, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfReserved);
}

TEST(GuestPaging, TablesInRefusedMemoryAreUnreadableNotFaults) {
    FakeMemory m;
    build_long(m);
    m.hidden_base = 0x3000;
    m.hidden_size = 0x1000;
    Translation t;
    EXPECT_EQ(walk(long_mode(), kLinear, kRead, m, &t), WalkStatus::Unreadable);
}

TEST(GuestPaging, PaeWalksFourPdptesThenTwoLevels) {
    FakeMemory m;
    // CR3 = 0x1020: the PDPT is 32-byte aligned inside a page. Linear 0xC0601123 ->
    // PDPTE 3, PD index 3, PT index 1.
    m.put64(0x1020 + 3 * 8, 0x5000 | P);
    m.put64(0x5000 + 3 * 8, 0x6000 | P | RW);
    m.put64(0x6000 + 1 * 8, 0x1'2345'6000ull | P | RW);  // above 4 GiB: PAE can reach it
    Translation t;
    ASSERT_EQ(walk(pae_mode(), 0xC0601123, kWrite, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x1'2345'6123ull);
    EXPECT_FALSE(m.get64(0x1020 + 3 * 8) & A);  // PDPTEs have no accessed bit
    m.put64(0x5000 + 3 * 8, 0x80000000ull | P | RW | PS);  // 2 MiB page
    ASSERT_EQ(walk(pae_mode(), 0xC0601123, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x80001123u);
    m.put64(0x5000 + 3 * 8, 0x80000000ull | P | RW | PS | (1ull << 55));  // 62:52 reserved in PAE
    ASSERT_EQ(walk(pae_mode(), 0xC0601123, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, kPfPresent | kPfReserved);
    m.put64(0x1020 + 3 * 8, 0);
    ASSERT_EQ(walk(pae_mode(), 0xC0601123, kRead, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, 0u);
}

TEST(GuestPaging, LegacyPagingUsesFourByteEntriesAndFourMiBPages) {
    FakeMemory m;
    // Linear 0x80403456: PDE 0x201, PTE 0x003.
    m.put32(0x1000 + 0x201 * 4, 0x7000 | P | RW);
    m.put32(0x7000 + 3 * 4, 0x00ABC000 | P | RW);
    Translation t;
    ASSERT_EQ(walk(legacy_mode(), 0x80403456, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x00ABC456u);
    m.put32(0x1000 + 0x201 * 4, 0x00C00000 | P | RW | PS | (0x5u << 13));  // 4 MiB, PSE-36 bits = 5
    ASSERT_EQ(walk(legacy_mode(), 0x80403456, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x5'00C03456ull);
    EXPECT_EQ(t.page_size, 4u << 20);
    GuestPagingState no_pse = legacy_mode();
    no_pse.cr4 = 0;  // PS is ignored: the entry points at a page table at 0x00C00000
    m.put32(0x00C05000 + 3 * 4, 0x00DEF000 | P);
    m.put32(0x1000 + 0x201 * 4, 0x00C05000 | P | RW | PS);
    ASSERT_EQ(walk(no_pse, 0x80403456, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x00DEF456u);
    // No execute-disable and no I/D bit here: a fetch of a missing page reports only U/S.
    m.put32(0x1000 + 0x201 * 4, 0);
    ASSERT_EQ(walk(legacy_mode(), 0x80403456, kFetch, m, &t), WalkStatus::PageFault);
    EXPECT_EQ(t.pf_error, 0u);
}

TEST(GuestPaging, LegacyPagingIgnoresTheUpperHalfOfTheLinearAddress) {
    FakeMemory m;
    m.put32(0x1000 + 0x201 * 4, 0x00C00000 | P | RW | PS);
    Translation t;
    ASSERT_EQ(walk(legacy_mode(), 0xFFFFFFFF'80403456ull, kRead, m, &t), WalkStatus::Ok);
    EXPECT_EQ(t.gpa.raw, 0x00C03456u);
}
