// libFuzzer target: the DMAR parser (drivers/iommu/dmar.cpp) on arbitrary tables. The first
// input byte chooses whether the harness fixes the signature and the length field (so the
// parser gets past them) or leaves the bytes as they are. The table is copied to a buffer of
// exactly its size, so ASan sees any read past it. Checks: the counts stay within their
// arrays, and what the parser accepted has the shape it promises (aligned, non-zero register
// bases, page-granular reserved ranges with base <= limit).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "drivers/iommu/dmar.hpp"

using namespace tv;
using namespace tv::iommu;

namespace {
void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    if (size < 1) return 0;
    bool const fix = data[0] & 1;
    std::vector<u8> t(data + 1, data + size);
    if (fix && t.size() >= 8) {
        memcpy(t.data(), "DMAR", 4);
        u32 const n = static_cast<u32>(t.size());
        memcpy(t.data() + 4, &n, 4);
    }
    DmarInfo info{};
    DmarError const e = dmar_parse(t.data(), t.size(), &info);
    check(info.unit_count <= DmarInfo::kMaxUnits && info.reserved_count <= DmarInfo::kMaxReserved, "counts");
    if (e != DmarError::None) return 0;
    check(info.unit_count > 0, "accepted without a unit");
    for (u32 i = 0; i < info.unit_count; ++i)
        check(info.units[i].reg_base && info.units[i].reg_base % 4096 == 0, "unit register base");
    for (u32 i = 0; i < info.reserved_count; ++i) {
        DmarReserved const& r = info.reserved[i];
        check(r.base <= r.limit && r.base % 4096 == 0 && (r.limit + 1) % 4096 == 0, "reserved range");
    }
    return 0;
}
