#include "drivers/iommu/vtd_tables.hpp"

#include <string.h>

namespace tv::iommu {

namespace {

constexpr u64 k4K = 4096, k2M = 2ull << 20;
constexpr u32 kEntries = 512;

u64* table(PageSource& ps, Hpa h) { return static_cast<u64*>(ps.to_virt(h)); }

// The table one level below entry `e` of table `t`, made when absent.
Status next(PageSource& ps, u64* t, u32 i, u64** out) {
    if (!(t[i] & kSlRead)) {
        Hpa page{};
        if (Status s = ps.alloc_zeroed_page(&page); !ok(s)) return s;
        t[i] = page.raw | kSlRead | kSlWrite;
    }
    *out = table(ps, Hpa{t[i] & kSlAddress});
    return Status::Ok;
}

// The page directory (level 2) covering `addr`, made along the way.
Status directory(PageSource& ps, u8 levels, Hpa root, u64 addr, u64** pd) {
    u64* t = table(ps, root);
    for (u8 level = levels; level > 2; --level) {
        u32 const i = static_cast<u32>((addr >> (12 + 9 * (level - 1))) & (kEntries - 1));
        if (Status s = next(ps, t, i, &t); !ok(s)) return s;
    }
    *pd = t;
    return Status::Ok;
}

bool in_hole(u64 a, u64 len, u64 hole, u64 hole_size) { return a < hole + hole_size && hole < a + len; }

}  // namespace

Status build_identity(PageSource& ps, u8 levels, u64 top, u64 hole, u64 hole_size, Hpa* root) {
    if ((levels != 3 && levels != 4) || top > (1ull << (12 + 9 * levels)) || hole % k4K || hole_size % k4K)
        return Status::Invalid;
    if (Status s = ps.alloc_zeroed_page(root); !ok(s)) return s;
    for (u64 block = 0; block < top; block += k2M) {
        u64* pd = nullptr;
        if (Status s = directory(ps, levels, *root, block, &pd); !ok(s)) return s;
        u32 const i = static_cast<u32>((block >> 21) & (kEntries - 1));
        if (!in_hole(block, k2M, hole, hole_size)) {
            pd[i] = block | kSlRead | kSlWrite | kSlLarge;
            continue;
        }
        u64* pt = nullptr;
        if (Status s = next(ps, pd, i, &pt); !ok(s)) return s;
        for (u32 j = 0; j < kEntries; ++j) {
            u64 const page = block + j * k4K;
            if (!in_hole(page, k4K, hole, hole_size) && page < top) pt[j] = page | kSlRead | kSlWrite;
        }
    }
    return Status::Ok;
}

Status build_root(PageSource& ps, u8 levels, Hpa guarded, Hpa full, MediatedFn mediated, void* ctx, Hpa* root_table) {
    u64 const aw = levels == 4 ? 2 : 1;
    auto entry = [&](Hpa slpt, u16 domain) { return ContextEntry{slpt.raw | kPresent, aw | u64{domain} << 8}; };
    Hpa shared{};
    if (Status s = ps.alloc_zeroed_page(&shared); !ok(s)) return s;
    auto* sc = static_cast<ContextEntry*>(ps.to_virt(shared));
    for (u32 f = 0; f < 256; ++f) sc[f] = entry(guarded, kDomainGuarded);
    if (Status s = ps.alloc_zeroed_page(root_table); !ok(s)) return s;
    auto* rt = static_cast<RootEntry*>(ps.to_virt(*root_table));
    for (u32 bus = 0; bus < 256; ++bus) {
        bool any = false;
        for (u32 f = 0; f < 256 && !any; ++f) any = mediated(ctx, static_cast<u8>(bus), static_cast<u8>(f));
        Hpa ctxt = shared;
        if (any) {
            if (Status s = ps.alloc_zeroed_page(&ctxt); !ok(s)) return s;
            auto* c = static_cast<ContextEntry*>(ps.to_virt(ctxt));
            for (u32 f = 0; f < 256; ++f)
                c[f] = mediated(ctx, static_cast<u8>(bus), static_cast<u8>(f)) ? entry(full, kDomainMediated)
                                                                             : entry(guarded, kDomainGuarded);
        }
        rt[bus] = RootEntry{ctxt.raw | kPresent, 0};
    }
    return Status::Ok;
}

bool translate(PageSource& ps, Hpa root_table, u8 bus, u8 devfn, u64 addr, u64* out, bool* writable) {
    RootEntry const re = static_cast<RootEntry*>(ps.to_virt(root_table))[bus];
    if (!(re.lo & kPresent)) return false;
    ContextEntry const ce = static_cast<ContextEntry*>(ps.to_virt(Hpa{re.lo & kSlAddress}))[devfn];
    if (!(ce.lo & kPresent)) return false;
    u8 const levels = (ce.hi & 7) == 2 ? 4 : 3;
    u64 const* t = table(ps, Hpa{ce.lo & kSlAddress});
    for (u8 level = levels; level >= 1; --level) {
        u64 const e = t[(addr >> (12 + 9 * (level - 1))) & (kEntries - 1)];
        if (!(e & (kSlRead | kSlWrite))) return false;
        u64 const span = 1ull << (12 + 9 * (level - 1));
        if (level == 1 || (e & kSlLarge)) {
            *out = (e & kSlAddress & ~(span - 1)) | (addr & (span - 1));
            *writable = (e & kSlWrite) != 0;
            return true;
        }
        t = table(ps, Hpa{e & kSlAddress});
    }
    return false;
}

}  // namespace tv::iommu
