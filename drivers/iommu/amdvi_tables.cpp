#include "drivers/iommu/amdvi_tables.hpp"

namespace tv::iommu {

namespace {

constexpr u64 k4K = 4096, k2M = 2ull << 20;
constexpr u32 kEntries = 512;
constexpr u64 kRw = kPteIr | kPteIw;
constexpr u32 kModeShift = 9;
// Command opcodes and fields.
constexpr u64 kOpCompletionWait = 1, kOpInvalidateDevtab = 2, kOpInvalidatePages = 3, kOpInvalidateIrt = 5,
              kOpInvalidateAll = 8;
constexpr u64 kWaitStore = 1ull << 0;
constexpr u64 kPagesSize = 1ull << 0, kPagesPde = 1ull << 1, kPagesAll = 0x7FFFFFFFFFFFF000ull;

u64* table(PageSource& ps, Hpa h) { return static_cast<u64*>(ps.to_virt(h)); }
u64 opcode(u64 op) { return op << 60; }
u32 index(u64 addr, u8 level) { return static_cast<u32>((addr >> (12 + 9 * (level - 1))) & (kEntries - 1)); }

// The table one level below entry i of table t (at `level`), made when absent.
Status next(PageSource& ps, u64* t, u32 i, u8 level, u64** out) {
    if (!(t[i] & kPtePresent)) {
        Hpa page{};
        if (Status s = ps.alloc_zeroed_page(&page); !ok(s)) return s;
        t[i] = page.raw | u64{level - 1u} << kPteNextShift | kPtePresent | kRw;
    }
    *out = table(ps, Hpa{t[i] & kPteAddress});
    return Status::Ok;
}

// The level-2 table covering `addr`, made along the way.
Status directory(PageSource& ps, u8 levels, Hpa root, u64 addr, u64** pd) {
    u64* t = table(ps, root);
    for (u8 level = levels; level > 2; --level)
        if (Status s = next(ps, t, index(addr, level), level, &t); !ok(s)) return s;
    *pd = t;
    return Status::Ok;
}

bool in_hole(u64 a, u64 len, u64 hole, u64 hole_size) { return a < hole + hole_size && hole < a + len; }

}  // namespace

Status amdvi_build_identity(PageSource& ps, u8 levels, u64 top, u64 hole, u64 hole_size, Hpa* root) {
    if ((levels != 3 && levels != 4) || top > (1ull << (12 + 9 * levels)) || hole % k4K || hole_size % k4K)
        return Status::Invalid;
    if (Status s = ps.alloc_zeroed_page(root); !ok(s)) return s;
    for (u64 block = 0; block < top; block += k2M) {
        u64* pd = nullptr;
        if (Status s = directory(ps, levels, *root, block, &pd); !ok(s)) return s;
        u32 const i = index(block, 2);
        if (!in_hole(block, k2M, hole, hole_size)) {
            pd[i] = block | kPtePresent | kRw;  // next level 0 at level 2: a 2 MiB leaf
            continue;
        }
        u64* pt = nullptr;
        if (Status s = next(ps, pd, i, 2, &pt); !ok(s)) return s;
        for (u32 j = 0; j < kEntries; ++j) {
            u64 const page = block + j * k4K;
            if (!in_hole(page, k4K, hole, hole_size) && page < top) pt[j] = page | kPtePresent | kRw;
        }
    }
    return Status::Ok;
}

DeviceTableEntry amdvi_dte(Hpa root, u8 levels, u16 domain, u64 interrupts) {
    return DeviceTableEntry{{kDteValid | kDteTranslate | u64{levels} << kModeShift | (root.raw & kPteAddress) | kRw,
                             domain, interrupts, 0}};
}

void amdvi_fill_device_table(DeviceTableEntry* t, u8 levels, Hpa guarded, Hpa full, FullDomain full_fn, void* ctx,
                             u64 interrupts) {
    DeviceTableEntry const g = amdvi_dte(guarded, levels, kAmdDomainGuarded, interrupts);
    DeviceTableEntry const f = amdvi_dte(full, levels, kAmdDomainMediated, interrupts);
    for (u32 id = 0; id < kDeviceIds; ++id) t[id] = full_fn(ctx, static_cast<u16>(id)) ? f : g;
}

bool amdvi_translate(PageSource& ps, DeviceTableEntry const* t, u16 devid, u64 addr, u64* out, bool* writable) {
    u64 const dte = t[devid].q[0];
    if (!(dte & kDteValid) || !(dte & kDteTranslate) || (dte & kRw) != kRw) return false;
    u8 const levels = static_cast<u8>((dte >> kModeShift) & 7);
    if (levels < 1 || levels > 6 || (levels < 6 && (addr >> (12 + 9 * levels)) != 0)) return false;
    u64 const* tbl = table(ps, Hpa{dte & kPteAddress});
    for (u8 level = levels; level >= 1; --level) {
        u64 const e = tbl[index(addr, level)];
        if (!(e & kPtePresent) || (e & kRw) == 0) return false;
        u32 const nl = static_cast<u32>((e >> kPteNextShift) & 7);
        if (nl == 0) {  // a leaf of this level's size
            u64 const span = 1ull << (12 + 9 * (level - 1));
            *out = (e & kPteAddress & ~(span - 1)) | (addr & (span - 1));
            *writable = (e & kPteIw) != 0;
            return true;
        }
        if (nl != level - 1u) return false;  // the monitor never skips levels or uses 7 (other sizes)
        tbl = table(ps, Hpa{e & kPteAddress});
    }
    return false;
}

AmdViCommand cmd_completion_wait(u64 store, u64 data) {
    return AmdViCommand{(store & 0x000FFFFFFFFFFFF8ull) | kWaitStore | opcode(kOpCompletionWait), data};
}

AmdViCommand cmd_invalidate_devtab_entry(u16 devid) { return AmdViCommand{devid | opcode(kOpInvalidateDevtab), 0}; }

AmdViCommand cmd_invalidate_domain_pages(u16 domain) {
    return AmdViCommand{u64{domain} << 32 | opcode(kOpInvalidatePages), kPagesAll | kPagesPde | kPagesSize};
}

AmdViCommand cmd_invalidate_interrupt_table(u16 devid) { return AmdViCommand{devid | opcode(kOpInvalidateIrt), 0}; }

AmdViCommand cmd_invalidate_all() { return AmdViCommand{opcode(kOpInvalidateAll), 0}; }

}  // namespace tv::iommu
