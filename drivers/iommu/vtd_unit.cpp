#include "drivers/iommu/vtd_unit.hpp"

namespace tv::iommu {

namespace {

constexpr u64 kSagaw39 = 1ull << 9, kSagaw48 = 1ull << 10;  // CAP.SAGAW bits 12:8
constexpr u64 kCapRwbf = 1ull << 4, kCapCm = 1ull << 7, kCapSllps2M = 1ull << 34;
constexpr u64 kEcapCoherent = 1ull << 0;

u32 fault_end(u64 cap) {
    u32 const fro = static_cast<u32>((cap >> 24) & 0x3FF) * 16;
    u32 const nfr = static_cast<u32>((cap >> 40) & 0xFF) + 1;
    return fro + nfr * 16;
}

// Writes a global command and waits for its status bit to reach `want`.
Status command(VtdRegisters& r, u32 bit, bool want, u32 spins) {
    u32 const keep = r.read32(kGsts) & kPersistent;
    r.write32(kGcmd, want ? keep | bit : keep & ~bit);
    for (u32 i = 0; i < spins; ++i)
        if (((r.read32(kGsts) & bit) != 0) == want) return Status::Ok;
    return Status::Unsupported;
}

// A one-shot command: its status bit is set while the operation runs (write-buffer flush) or
// once it completed (root table pointer).
Status one_shot(VtdRegisters& r, u32 bit, bool done_when_set, u32 spins) {
    u32 const keep = r.read32(kGsts) & kPersistent;
    r.write32(kGcmd, keep | bit);
    for (u32 i = 0; i < spins; ++i)
        if (((r.read32(kGsts) & bit) != 0) == done_when_set) return Status::Ok;
    return Status::Unsupported;
}

Status wait64_clear(VtdRegisters& r, u32 off, u64 bit, u32 spins) {
    for (u32 i = 0; i < spins; ++i)
        if (!(r.read64(off) & bit)) return Status::Ok;
    return Status::Unsupported;
}

}  // namespace

bool vtd_caps(VtdRegisters& r, VtdCaps* out, char const** why) {
    u64 const cap = r.read64(kCap), ecap = r.read64(kEcap);
    *out = VtdCaps{};
    if (cap & kSagaw48) out->levels = 4;
    else if (cap & kSagaw39) out->levels = 3;
    else return *why = "neither 3- nor 4-level second-level tables", false;
    if (!(cap & kCapSllps2M)) return *why = "no 2 MiB second-level pages", false;
    if (r.read32(kGsts) & kQie) return *why = "queued invalidation is on (left by the firmware)", false;
    out->rwbf = (cap & kCapRwbf) != 0;
    out->caching = (cap & kCapCm) != 0;
    out->coherent = (ecap & kEcapCoherent) != 0;
    out->iotlb_reg = static_cast<u32>((ecap >> 8) & 0x3FF) * 16 + 8;
    u32 const end = fault_end(cap) > out->iotlb_reg + 8 ? fault_end(cap) : out->iotlb_reg + 8;
    out->reg_bytes = end > 0x1000 ? end : 0x1000;
    return true;
}

Status vtd_enable(VtdRegisters& r, VtdCaps const& c, u64 root_table, u32 spins) {
    r.write64(kRtaddr, root_table);  // legacy root-table format (bits 11:10 zero)
    if (Status s = one_shot(r, kSrtp, true, spins); !ok(s)) return s;
    if (c.rwbf)
        if (Status s = one_shot(r, kWbf, false, spins); !ok(s)) return s;
    r.write64(kCcmd, kCcmdIcc | kCcmdGlobal);
    if (Status s = wait64_clear(r, kCcmd, kCcmdIcc, spins); !ok(s)) return s;
    r.write64(c.iotlb_reg, kIotlbIvt | kIotlbGlobal | kIotlbDr | kIotlbDw);
    if (Status s = wait64_clear(r, c.iotlb_reg, kIotlbIvt, spins); !ok(s)) return s;
    return command(r, kTe, true, spins);
}

}  // namespace tv::iommu
