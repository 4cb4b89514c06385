#include "core/page_alloc.hpp"

namespace tv {

namespace {

constexpr u64 kBits = 64;

constexpr u64 low_mask(u64 nbits) { return nbits >= kBits ? ~0ull : (1ull << nbits) - 1; }

}  // namespace

void PageAllocator::init(Hpa base, u64 npages, u64* bitmap_words, size_t nwords) {
    u64 const b = align_up(base.raw, kPageSize);
    if (b != base.raw)
        npages = npages > 0 ? npages - 1 : 0;
    if (b < base.raw)  // rounded past the top of the address space
        npages = 0;
    u64 const cap = bitmap_words ? u64{nwords} * kBits : 0;
    if (npages > cap)
        npages = cap;
    u64 const room = (~0ull - b) / kPageSize + 1;  // pages between b and the end of the space
    if (npages > room)
        npages = room;

    base_ = Hpa{b};
    npages_ = npages;
    free_ = npages;
    bits_ = bitmap_words;
    u64 const words = (npages + kBits - 1) / kBits;
    for (u64 i = 0; i < words; ++i)
        bits_[i] = 0;
    // Bits past the region read as used, so word-at-a-time scans never find a phantom page.
    if (npages % kBits != 0)
        bits_[words - 1] = ~low_mask(npages % kBits);
}

bool PageAllocator::contains(Hpa a) const {
    return a.raw >= base_.raw && (a.raw - base_.raw) / kPageSize < npages_;
}

void PageAllocator::set_range(u64 first, u64 n, bool used) {
    while (n > 0) {
        u64 const bit = first % kBits;
        u64 const k = n < kBits - bit ? n : kBits - bit;
        u64 const mask = low_mask(k) << bit;
        if (used)
            bits_[first / kBits] |= mask;
        else
            bits_[first / kBits] &= ~mask;
        first += k;
        n -= k;
    }
}

u64 PageAllocator::next_with(bool used, u64 from, u64 limit) const {
    while (from < limit) {
        u64 const word = used ? bits_[from / kBits] : ~bits_[from / kBits];
        u64 const w = word >> (from % kBits);
        if (w != 0) {
            u64 const hit = from + static_cast<u64>(__builtin_ctzll(w));
            return hit < limit ? hit : limit;
        }
        from = (from / kBits + 1) * kBits;
    }
    return limit;
}

Status PageAllocator::alloc(u64 npages, u64 align_pages, Hpa* out) {
    if (align_pages == 0)
        align_pages = 1;
    if (npages == 0 || (align_pages & (align_pages - 1)) != 0)
        return Status::Invalid;
    if (npages > free_)
        return Status::NoMemory;
    // Alignment is of the host-physical frame number, not of the index in the region.
    u64 const base_pfn = base_.raw / kPageSize;
    u64 i = 0;
    for (;;) {
        i = next_with(false, i, npages_);
        if (i == npages_)
            return Status::NoMemory;
        u64 const pfn = align_up(base_pfn + i, align_pages);
        if (pfn < base_pfn + i)  // the alignment rounded past the top of the space
            return Status::NoMemory;
        i = pfn - base_pfn;
        if (i > npages_ || npages_ - i < npages)
            return Status::NoMemory;
        u64 const busy = next_with(true, i, i + npages);
        if (busy == i + npages)
            break;
        i = busy + 1;
    }
    set_range(i, npages, true);
    free_ -= npages;
    *out = Hpa{base_.raw + i * kPageSize};
    return Status::Ok;
}

bool PageAllocator::range_ok(Hpa base, u64 npages, u64* first) const {
    if (npages == 0 || !is_aligned(base.raw, kPageSize) || !contains(base))
        return false;
    *first = (base.raw - base_.raw) / kPageSize;
    return npages <= npages_ - *first;
}

Status PageAllocator::free(Hpa base, u64 npages) {
    u64 first;
    if (!range_ok(base, npages, &first))
        return Status::Invalid;
    if (next_with(false, first, first + npages) != first + npages)
        return Status::Invalid;
    set_range(first, npages, false);
    free_ += npages;
    return Status::Ok;
}

Status PageAllocator::reserve(Hpa base, u64 npages) {
    u64 first;
    if (!range_ok(base, npages, &first))
        return Status::Invalid;
    if (next_with(true, first, first + npages) != first + npages)
        return Status::Exists;
    set_range(first, npages, true);
    free_ -= npages;
    return Status::Ok;
}

}  // namespace tv
