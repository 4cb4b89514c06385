#include "drivers/iommu/amdvi_unit.hpp"

namespace tv::iommu {

namespace {

constexpr u64 kDevTabSize2M = (kDeviceTableBytes >> 12) - 1;  // in 4 KiB units, minus one
constexpr u32 kCmdLenShift = 56;
constexpr u32 kHatsShift = 10;

void queue(AmdViRing& ring, AmdViCommand cmd) {
    ring.entries[ring.tail] = cmd;
    ring.tail = (ring.tail + 1) & ((1u << ring.count_log2) - 1);
    ++ring.pending;
}

}  // namespace

bool amdvi_caps(AmdViRegisters& r, AmdViCaps* out, char const** why) {
    u64 const efr = r.read64(kAmdEfr);
    *out = AmdViCaps{};
    out->invalidate_all = (efr & kEfrIaSup) != 0;
    u64 const hats = (efr >> kHatsShift) & 3;
    if (hats == 3) return *why = "a reserved host address translation size", false;
    out->max_levels = static_cast<u8>(4 + hats);
    out->reg_bytes = (efr & kEfrPcSup) ? 512u << 10 : 16u << 10;
    return true;
}

Status amdvi_sync(AmdViRegisters& r, AmdViRing& ring, u32 spins) {
    u64 const token = ++ring.token;
    __atomic_store_n(ring.slot, 0, __ATOMIC_RELAXED);
    queue(ring, cmd_completion_wait(ring.slot_hpa, token));
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  // the entries are in memory before the unit reads them
    r.write64(kAmdCmdTail, u64{ring.tail} * sizeof(AmdViCommand));
    for (u32 i = 0; i < spins; ++i)
        if (__atomic_load_n(ring.slot, __ATOMIC_ACQUIRE) == token) {
            ring.pending = 0;
            return Status::Ok;
        }
    return Status::Unsupported;
}

Status amdvi_submit(AmdViRegisters& r, AmdViRing& ring, AmdViCommand cmd, u32 spins) {
    // One entry stays free for the COMPLETION_WAIT and one between tail and head.
    if (ring.pending + 2 >= (1u << ring.count_log2))
        if (Status s = amdvi_sync(r, ring, spins); !ok(s)) return s;
    queue(ring, cmd);
    return Status::Ok;
}

Status amdvi_enable(AmdViRegisters& r, AmdViCaps const& c, u64 device_table, AmdViRing& ring, IvrsRange const* ids,
                    u32 count, u32 spins) {
    r.write64(kAmdControl, 0);  // translation off while the unit is pointed at the monitor's tables
    r.write64(kAmdDevTab, (device_table & kPteAddress) | kDevTabSize2M);
    r.write64(kAmdCmdBase, (ring.entries_hpa & kPteAddress) | u64{ring.count_log2} << kCmdLenShift);
    r.write64(kAmdCmdHead, 0);
    r.write64(kAmdCmdTail, 0);
    ring.tail = ring.pending = 0;
    r.write64(kAmdExclBase, 0);  // no exclusion range: it would let devices past the tables
    r.write64(kAmdExclLimit, 0);
    r.write64(kAmdControl, kAmdIommuEn | kAmdCmdBufEn);
    if (c.invalidate_all) {
        if (Status s = amdvi_submit(r, ring, cmd_invalidate_all(), spins); !ok(s)) return s;
    } else {
        for (u32 i = 0; i < count; ++i)
            for (u32 id = ids[i].first; id <= ids[i].last; ++id)
                if (Status s = amdvi_submit(r, ring, cmd_invalidate_devtab_entry(static_cast<u16>(id)), spins); !ok(s))
                    return s;
        u16 const domains[] = {kAmdDomainGuarded, kAmdDomainMediated};
        for (u16 d : domains)
            if (Status s = amdvi_submit(r, ring, cmd_invalidate_domain_pages(d), spins); !ok(s)) return s;
    }
    return amdvi_sync(r, ring, spins);
}

}  // namespace tv::iommu
