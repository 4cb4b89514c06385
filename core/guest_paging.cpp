#include "core/guest_paging.hpp"

namespace tv {

namespace {

constexpr u64 kP = 1ull << 0;
constexpr u64 kRw = 1ull << 1;
constexpr u64 kUs = 1ull << 2;
constexpr u64 kA = 1ull << 5;
constexpr u64 kD = 1ull << 6;
constexpr u64 kPs = 1ull << 7;
constexpr u64 kXd = 1ull << 63;
constexpr unsigned kMaxLevels = 5;

constexpr u64 bits(unsigned hi, unsigned lo) { return ((hi >= 63 ? 0 : (1ull << (hi + 1))) - 1) & ~((1ull << lo) - 1); }

// One walk: the state it started from, the rights gathered so far and the entries it went
// through (for the accessed/dirty update after it succeeded).
class Walker {
  public:
    Walker(GuestPagingState const& s, u64 linear, GuestAccess a, GuestMemoryReader& mem)
        : s_(s), linear_(linear), access_(a), mem_(mem), maxphy_(s.maxphyaddr ? s.maxphyaddr : 52) {}

    WalkStatus legacy32(Translation* out);
    WalkStatus pae(Translation* out);
    WalkStatus long_mode(Translation* out);

  private:
    struct Seen {
        Gpa where;
        u8 size;
        u64 entry;
        bool has_a;  // PAE PDPTEs have no accessed bit
    };

    bool nxe() const { return (s_.efer & kEferNxe) != 0; }
    bool wide() const { return (s_.cr4 & kCr4Pae) != 0; }  // 8-byte entries (PAE or 4-level)
    u64 addr_mask() const { return bits(maxphy_ - 1, 12); }
    // Bits an 8-byte entry must keep clear: address bits the CPU does not have, and XD
    // when execute-disable is off. PAE paging also reserves 62:52, which 4-level ignores.
    u64 reserved_wide(bool pae_legacy) const {
        u64 r = maxphy_ < 52 ? bits(51, maxphy_) : 0;
        if (pae_legacy) r |= bits(62, 52);
        if (!nxe()) r |= kXd;
        return r;
    }
    [[nodiscard]] bool read(u64 table, u64 index, u8 size, u64* e, bool has_a = true);
    void gather(u64 e);
    WalkStatus fault(u32 why, Translation* out);
    bool allowed() const;
    WalkStatus finish(u64 phys_page, u64 page_size, Translation* out);
    WalkStatus wide_levels(u64 table, unsigned top, bool pae_legacy, Translation* out);

    GuestPagingState const& s_;
    u64 linear_;
    GuestAccess access_;
    GuestMemoryReader& mem_;
    unsigned maxphy_;
    bool rw_{true}, us_{true}, xd_{false};
    Seen seen_[kMaxLevels]{};
    unsigned nseen_{0};
};

bool Walker::read(u64 table, u64 index, u8 size, u64* e, bool has_a) {
    Gpa const where{table + index * size};
    if (!mem_.read_entry(where, size, e)) return false;
    if (nseen_ < kMaxLevels) seen_[nseen_++] = Seen{where, size, *e, has_a};
    return true;
}

void Walker::gather(u64 e) {
    rw_ = rw_ && (e & kRw);
    us_ = us_ && (e & kUs);
    xd_ = xd_ || (wide() && nxe() && (e & kXd));
}

// why: kPfPresent for a rights violation, kPfPresent | kPfReserved for a reserved bit, 0
// for a missing entry. The rest of the error code describes the access.
WalkStatus Walker::fault(u32 why, Translation* out) {
    u32 e = why;
    if (access_.write) e |= kPfWrite;
    if (s_.cpl == 3) e |= kPfUser;
    // I/D is reported only where the CPU can tell fetches apart: with SMEP, or with
    // execute-disable on PAE-format tables.
    if (access_.fetch && ((s_.cr4 & kCr4Smep) || (wide() && nxe()))) e |= kPfFetch;
    out->pf_error = e;
    return WalkStatus::PageFault;
}

// The access rules of the architecture, applied to the rights of the whole walk.
bool Walker::allowed() const {
    bool const user = s_.cpl == 3;
    if (access_.fetch) {
        if (xd_) return false;
        if (user) return us_;
        return !(us_ && (s_.cr4 & kCr4Smep));
    }
    if (user) return us_ && (!access_.write || rw_);
    if (us_ && (s_.cr4 & kCr4Smap) && !s_.rflags_ac) return false;
    return !access_.write || rw_ || !(s_.cr0 & kCr0Wp);
}

WalkStatus Walker::finish(u64 phys_page, u64 page_size, Translation* out) {
    if (!allowed()) return fault(kPfPresent, out);
    for (unsigned i = 0; i < nseen_; ++i) {
        Seen const& e = seen_[i];
        bool const leaf = i + 1 == nseen_;
        u64 want = (e.has_a ? kA : 0) | (leaf && access_.write ? kD : 0);
        want &= ~e.entry;
        if (want && !mem_.set_entry_bits(e.where, e.size, want)) return WalkStatus::Unreadable;
    }
    out->gpa = Gpa{phys_page | (linear_ & (page_size - 1))};
    out->page_size = page_size;
    return WalkStatus::Ok;
}

WalkStatus Walker::legacy32(Translation* out) {
    u64 pde;
    if (!read(s_.cr3 & bits(31, 12), (linear_ >> 22) & 1023, 4, &pde)) return WalkStatus::Unreadable;
    if (!(pde & kP)) return fault(0, out);
    gather(pde);
    if ((pde & kPs) && (s_.cr4 & kCr4Pse)) {
        // PSE-36: PDE bits 20:13 are physical address bits 39:32; bit 21 is reserved, and so
        // is every one of those bits beyond the CPU's address width.
        u64 high = ((pde >> 13) & 0xFF) << 32;
        if ((pde & (1ull << 21)) || (high & ~bits(maxphy_ - 1, 0))) return fault(kPfPresent | kPfReserved, out);
        return finish((pde & bits(31, 22)) | high, 4ull << 20, out);
    }
    u64 pte;
    if (!read(pde & bits(31, 12), (linear_ >> 12) & 1023, 4, &pte)) return WalkStatus::Unreadable;
    if (!(pte & kP)) return fault(0, out);
    gather(pte);
    return finish(pte & bits(31, 12), kPageSize, out);
}

// The 9-bit-index levels shared by PAE and 4-level paging, from `top` down to the PTE.
WalkStatus Walker::wide_levels(u64 table, unsigned top, bool pae_legacy, Translation* out) {
    u64 const reserved = reserved_wide(pae_legacy);
    for (unsigned level = top;; --level) {
        u64 e;
        if (!read(table, (linear_ >> (12 + 9 * level)) & 511, 8, &e)) return WalkStatus::Unreadable;
        if (!(e & kP)) return fault(0, out);
        bool const large = level > 0 && (e & kPs);
        // A large page's address field must be aligned (bit 12 is its PAT bit).
        u64 const low_rsvd = !large ? 0 : level == 1 ? bits(20, 13) : level == 2 ? bits(29, 13) : ~0ull;
        // (PML4 and PML5 entries have no large-page form: bit 7 set there is reserved.)
        if ((e & reserved) || (e & low_rsvd)) return fault(kPfPresent | kPfReserved, out);
        gather(e);
        u64 const span = kPageSize << (9 * level);
        if (large || level == 0) return finish(e & addr_mask() & ~(span - 1), span, out);
        table = e & addr_mask();
    }
}

WalkStatus Walker::pae(Translation* out) {
    u64 pdpte;
    if (!read(s_.cr3 & bits(31, 5), (linear_ >> 30) & 3, 8, &pdpte, false)) return WalkStatus::Unreadable;
    if (!(pdpte & kP)) return fault(0, out);
    // PDPTEs carry no rights (they count as writable and user) and no execute-disable bit.
    if (pdpte & (bits(2, 1) | bits(8, 5) | bits(63, maxphy_))) return fault(kPfPresent | kPfReserved, out);
    return wide_levels(pdpte & addr_mask(), 1, true, out);
}

// 4-level paging translates 48-bit linear addresses, 5-level (CR4.LA57) 57-bit ones; the
// bits above must copy the top one.
WalkStatus Walker::long_mode(Translation* out) {
    bool const la57 = (s_.cr4 & kCr4La57) != 0;
    u64 const top = static_cast<u64>(static_cast<i64>(linear_) >> (la57 ? 56 : 47));
    if (top != 0 && top != ~0ull) return WalkStatus::NonCanonical;
    return wide_levels(s_.cr3 & addr_mask(), la57 ? 4 : 3, false, out);
}

}  // namespace

WalkStatus guest_translate(GuestPagingState const& s, u64 linear, GuestAccess access, GuestMemoryReader& mem,
                           Translation* out) {
    *out = Translation{};
    bool const lma = (s.efer & kEferLma) != 0;
    if (!(s.cr0 & kCr0Pg)) {
        out->gpa = Gpa{lma ? linear : linear & 0xFFFFFFFFull};
        out->page_size = kPageSize;
        return WalkStatus::Ok;
    }
    if (!lma) linear &= 0xFFFFFFFFull;  // legacy paging translates 32-bit linear addresses
    Walker w{s, linear, access, mem};
    if (lma) return w.long_mode(out);
    if (s.cr4 & kCr4Pae) return w.pae(out);
    return w.legacy32(out);
}

}  // namespace tv
