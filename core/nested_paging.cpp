#include "core/nested_paging.hpp"

// Tables are never given back to the PageSource. unmap() leaves empty tables in place; a
// table that a large map() or collapse() replaces is retired and, once the owner has flushed
// every CPU's nested TLB (recycle_retired), reused for the next table this builder needs. So a
// hook that moves back and forth, splitting a large page at each new place and collapsing
// the old one, needs no new pages.

namespace tv {

namespace {

constexpr unsigned kTopLevel = 3;  // PML4; level 0 holds 4 KiB leaves
constexpr u64 kEntries = 512;
constexpr u64 kAddrMask = 0x000F'FFFF'FFFF'F000ull;  // bits 12..51
constexpr u64 kLarge = 1ull << 7;                   // PS in NPT, "maps a page" in EPT
constexpr u64 kNonLeaf = 0x7;  // NPT P|RW|US, EPT R|W|X: leaves alone decide the access

// NPT entries are ordinary long-mode entries.
constexpr u64 kNptP = 1ull << 0;
constexpr u64 kNptRw = 1ull << 1;
constexpr u64 kNptUs = 1ull << 2;  // nested walks are user accesses: without it nothing works
constexpr u64 kNptPwtPcd = 3ull << 3;  // PAT entry 3, UC in the power-on PAT

constexpr u64 kEptPermMask = 0x7;
constexpr u64 kEptMemTypeWb = 6ull << 3;  // bits 5:3; 0 is UC
constexpr u64 kEptpMemTypeWb = 6;
constexpr u64 kEptpWalk4 = (4ull - 1) << 3;

constexpr u64 span(unsigned level) { return kPageSize << (9 * level); }
constexpr u64 index(u64 gpa, unsigned level) { return (gpa >> (12 + 9 * level)) % kEntries; }
constexpr bool is_leaf(u64 e, unsigned level) {
    return level == 0 || (level < kTopLevel && (e & kLarge) != 0);
}
// Where the part of [gpa, end) that one entry at this level covers stops. Never overflows:
// gpa is below 2^48.
constexpr u64 entry_end(u64 gpa, unsigned level, u64 end) {
    u64 const next = align_down(gpa, span(level)) + span(level);
    return next < end ? next : end;
}

// The span mask also drops bit 12 of a large entry, which NPT uses as its PAT bit.
constexpr u64 addr_of(u64 e, unsigned level) { return e & kAddrMask & ~(span(level) - 1); }

// The hardware walker may be using the tables while they change: every entry is written
// whole, and only after the table it points to is complete.
void store(u64* entry, u64 value) { __atomic_store_n(entry, value, __ATOMIC_RELEASE); }

}  // namespace

void NestedPageTable::init(NestedFormat format, PageSource* source, bool allow_1g) {
    format_ = format;
    source_ = source;
    allow_1g_ = allow_1g;
    root_ = Hpa{0};
    has_root_ = false;
}

Status NestedPageTable::create_root() {
    if (has_root_)
        return Status::Exists;
    if (source_ == nullptr)
        return Status::Invalid;
    u64 page;
    Status const s = new_table(&page);
    if (!ok(s))
        return s;
    root_ = Hpa{page};
    has_root_ = true;
    return Status::Ok;
}

Status NestedPageTable::new_table(u64* out) {
    if (spare_n_) {
        u64 const page = spare_[--spare_n_];
        u64* const t = table(page);
        for (u64 i = 0; i < kEntries; ++i) t[i] = 0;
        *out = page;
        return Status::Ok;
    }
    Hpa page;
    Status const s = source_->alloc_zeroed_page(&page);
    if (!ok(s))
        return s;
    if (!is_aligned(page.raw, kPageSize) || page.raw >= kHpaLimit)  // a broken PageSource
        return Status::Invalid;
    *out = page.raw;
    return Status::Ok;
}

u64 NestedPageTable::eptp() const { return root_.raw | kEptpMemTypeWb | kEptpWalk4; }

bool NestedPageTable::perm_ok(Perm perm) const {
    if (format_ == NestedFormat::Npt)
        return has(perm, Perm::R);
    return has(perm, Perm::R) || !has(perm, Perm::W);
}

u64 NestedPageTable::perm_bits(Perm perm) const {
    if (format_ == NestedFormat::Ept)
        return u64{static_cast<u8>(perm)};
    return kNptP | kNptUs | (has(perm, Perm::W) ? kNptRw : 0);
}

u64 NestedPageTable::perm_mask() const {
    return format_ == NestedFormat::Ept ? kEptPermMask : kNptP | kNptRw | kNptUs;
}

u64 NestedPageTable::cache_bits(Cache cache) const {
    if (format_ == NestedFormat::Ept)
        return cache == Cache::WriteBack ? kEptMemTypeWb : 0;
    return cache == Cache::WriteBack ? 0 : kNptPwtPcd;
}

// attrs: every bit but the address and the large-page bit, as attrs_of() gives them.
u64 NestedPageTable::leaf(u64 hpa, u64 attrs, unsigned level) {
    return hpa | attrs | (level > 0 ? kLarge : 0);
}

// At level 0, bit 7 is not the large-page bit (it is NPT's PAT bit) and stays.
u64 NestedPageTable::attrs_of(u64 e, unsigned level) {
    return e & ~kAddrMask & ~(level > 0 ? kLarge : 0);
}

bool NestedPageTable::present(u64 e) const {
    return format_ == NestedFormat::Ept ? (e & kEptPermMask) != 0 : (e & kNptP) != 0;
}

Perm NestedPageTable::perm_of(u64 e) const {
    if (format_ == NestedFormat::Ept)
        return static_cast<Perm>(e & kEptPermMask);
    return (e & kNptRw) != 0 ? Perm::RWX : Perm::RX;
}

u64* NestedPageTable::table(u64 hpa) const {
    return static_cast<u64*>(source_->to_virt(Hpa{hpa & kAddrMask}));
}

bool NestedPageTable::leaf_allowed(unsigned level) const {
    return level <= 1 || (level == 2 && allow_1g_);
}

Status NestedPageTable::check_range(u64 gpa, u64 size) const {
    if (!has_root_)
        return Status::Invalid;
    if (size == 0 || !is_aligned(gpa, kPageSize) || !is_aligned(size, kPageSize))
        return Status::Invalid;
    if (gpa >= kGpaLimit || size > kGpaLimit - gpa)
        return Status::Invalid;
    return Status::Ok;
}

// Replaces a large leaf by a table of the next smaller pages with the same targets and
// attributes, so that part of it can change.
Status NestedPageTable::split(u64* entry, unsigned level, u64** out) {
    u64 page;
    Status const s = new_table(&page);
    if (!ok(s))
        return s;
    u64* const t = table(page);
    u64 const base = addr_of(*entry, level);
    u64 const attrs = attrs_of(*entry, level);
    for (u64 i = 0; i < kEntries; ++i)
        t[i] = leaf(base + i * span(level - 1), attrs, level - 1);
    store(entry, page | kNonLeaf);
    *out = t;
    return Status::Ok;
}

Status NestedPageTable::child_table(u64* entry, unsigned level, u64** out) {
    u64 const e = *entry;
    if (present(e) && is_leaf(e, level))
        return split(entry, level, out);
    if (present(e)) {
        *out = table(e);
        return Status::Ok;
    }
    u64 page;
    Status const s = new_table(&page);
    if (!ok(s))
        return s;
    store(entry, page | kNonLeaf);
    *out = table(page);
    return Status::Ok;
}

Status NestedPageTable::map_in(u64* t, unsigned level, u64 gpa, u64 end, u64 hpa, u64 attrs) {
    u64 const size = span(level);
    while (gpa < end) {
        u64 const stop = entry_end(gpa, level, end);
        u64* const entry = &t[index(gpa, level)];
        if (leaf_allowed(level) && stop - gpa == size && is_aligned(hpa, size)) {
            u64 const old = *entry;
            store(entry, leaf(hpa, attrs, level));
            retire_tree(old, level);
        } else {
            u64* child;
            Status s = child_table(entry, level, &child);
            if (ok(s))
                s = map_in(child, level - 1, gpa, stop, hpa, attrs);
            if (!ok(s))
                return s;
        }
        hpa += stop - gpa;
        gpa = stop;
    }
    return Status::Ok;
}

Status NestedPageTable::edit_in(u64* t, unsigned level, u64 gpa, u64 end, Edit edit, Perm perm) {
    u64 const size = span(level);
    while (gpa < end) {
        u64 const stop = entry_end(gpa, level, end);
        u64* const entry = &t[index(gpa, level)];
        u64 const e = *entry;
        // A hole needs nothing: unmap() has nothing to do there, and protect() checked
        // beforehand that there is none.
        if (present(e) && is_leaf(e, level) && stop - gpa == size) {
            store(entry, edit == Edit::Unmap ? 0 : (e & ~perm_mask()) | perm_bits(perm));
        } else if (present(e)) {
            u64* child;
            Status s = child_table(entry, level, &child);
            if (ok(s))
                s = edit_in(child, level - 1, gpa, stop, edit, perm);
            if (!ok(s))
                return s;
        }
        gpa = stop;
    }
    return Status::Ok;
}

Status NestedPageTable::map(Gpa gpa, Hpa hpa, u64 size, Perm perm, Cache cache) {
    if (perm == Perm::None)
        return unmap(gpa, size);
    Status const s = check_range(gpa.raw, size);
    if (!ok(s))
        return s;
    if (!perm_ok(perm) || !is_aligned(hpa.raw, kPageSize) || hpa.raw >= kHpaLimit ||
        size > kHpaLimit - hpa.raw)
        return Status::Invalid;
    u64 const attrs = perm_bits(perm) | cache_bits(cache);
    LockGuard guard(lock_);
    return map_in(table(root_.raw), kTopLevel, gpa.raw, gpa.raw + size, hpa.raw, attrs);
}

Status NestedPageTable::unmap(Gpa gpa, u64 size) {
    Status const s = check_range(gpa.raw, size);
    if (!ok(s))
        return s;
    LockGuard guard(lock_);
    return edit_in(table(root_.raw), kTopLevel, gpa.raw, gpa.raw + size, Edit::Unmap, Perm::None);
}

void NestedPageTable::retire(u64 table_hpa) {
    if (retired_n_ == kMaxRetired) {
        ++lost_;
        return;
    }
    retired_[retired_n_++] = table_hpa & kAddrMask;
}

// A table entry that was just replaced: its table and every table below it are retired.
void NestedPageTable::retire_tree(u64 e, unsigned level) {
    if (!present(e) || is_leaf(e, level)) return;
    u64 const* const t = table(e);
    if (level > 1)
        for (u64 i = 0; i < kEntries; ++i) retire_tree(t[i], level - 1);
    retire(e);
}

// Replaces the table under *entry by one leaf when its 512 entries are leaves mapping one
// contiguous, aligned range with the same attributes. Level: *entry's level (1 or 2).
bool NestedPageTable::collapse_entry(u64* entry, unsigned level) {
    u64 const e = *entry;
    if (!present(e) || is_leaf(e, level) || !leaf_allowed(level)) return false;
    u64 const* const t = table(e);
    unsigned const below = level - 1;
    if (!present(t[0]) || !is_leaf(t[0], below)) return false;
    u64 const base = addr_of(t[0], below), attrs = attrs_of(t[0], below);
    if (!is_aligned(base, span(level)) || (below == 0 && (attrs & kLarge))) return false;  // NPT's 4 KiB PAT bit
    for (u64 i = 1; i < kEntries; ++i)
        if (!present(t[i]) || !is_leaf(t[i], below) || addr_of(t[i], below) != base + i * span(below) ||
            attrs_of(t[i], below) != attrs)
            return false;
    store(entry, leaf(base, attrs, level));
    retire(e);
    return true;
}

void NestedPageTable::collapse(Gpa gpa, u64 size) {
    if (!ok(check_range(align_down(gpa.raw, kPageSize), align_up(size, kPageSize)))) return;
    LockGuard guard(lock_);
    u64 const end = gpa.raw + size;
    for (u64 a = align_down(gpa.raw, span(1)); a < end; a += span(1)) {
        u64* t = table(root_.raw);
        u64* l2 = &t[index(a, 3)];
        if (!present(*l2)) continue;
        u64* pd_entry = &table(*l2)[index(a, 2)];
        if (!present(*pd_entry) || is_leaf(*pd_entry, 2)) continue;
        (void)collapse_entry(&table(*pd_entry)[index(a, 1)], 1);
        // Past the last 2 MiB of a 1 GiB region (or of the range): try the 1 GiB entry too.
        if (a + span(1) >= end || is_aligned(a + span(1), span(2))) (void)collapse_entry(pd_entry, 2);
    }
}

void NestedPageTable::recycle_retired() {
    LockGuard guard(lock_);
    while (retired_n_ && spare_n_ < kMaxRetired) spare_[spare_n_++] = retired_[--retired_n_];
    lost_ += retired_n_;
    retired_n_ = 0;
}

bool NestedPageTable::fully_mapped(u64 gpa, u64 end) const {
    while (gpa < end) {
        u64 page_size;
        if (!translate(Gpa{gpa}, nullptr, nullptr, &page_size))
            return false;
        gpa = align_down(gpa, page_size) + page_size;
    }
    return true;
}

Status NestedPageTable::protect(Gpa gpa, u64 size, Perm perm) {
    Status const s = check_range(gpa.raw, size);
    if (!ok(s))
        return s;
    if (perm == Perm::None || !perm_ok(perm))
        return Status::Invalid;
    if (!fully_mapped(gpa.raw, gpa.raw + size))
        return Status::NotFound;
    LockGuard guard(lock_);
    return edit_in(table(root_.raw), kTopLevel, gpa.raw, gpa.raw + size, Edit::Protect, perm);
}

bool NestedPageTable::translate(Gpa gpa, Hpa* out, Perm* perm, u64* page_size) const {
    if (!has_root_ || gpa.raw >= kGpaLimit)
        return false;
    u64 const* t = table(root_.raw);
    for (unsigned level = kTopLevel;; --level) {
        u64 const e = t[index(gpa.raw, level)];
        if (!present(e))
            return false;
        if (is_leaf(e, level)) {
            if (out)
                *out = Hpa{addr_of(e, level) + (gpa.raw & (span(level) - 1))};
            if (perm)
                *perm = perm_of(e);
            if (page_size)
                *page_size = span(level);
            return true;
        }
        t = table(e);
    }
}

}  // namespace tv
