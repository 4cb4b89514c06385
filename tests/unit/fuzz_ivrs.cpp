// libFuzzer target: the IVRS parser (drivers/iommu/ivrs.cpp) on arbitrary tables. The first
// input byte chooses whether the harness fixes the signature and the length field (so the
// parser gets past them) or leaves the bytes as they are. The table is copied to a buffer of
// exactly its size, so ASan sees any read past it. Checks: the counts stay within their
// arrays, what the parser accepted has the shape it promises (aligned, non-zero register bases,
// ranges first <= last, page-granular memory blocks with base <= limit), and a covered ID's
// requester is the ID itself unless an alias range holds it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "drivers/iommu/ivrs.hpp"

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
        memcpy(t.data(), "IVRS", 4);
        u32 const n = static_cast<u32>(t.size());
        memcpy(t.data() + 4, &n, 4);
    }
    IvrsInfo info{};
    IvrsError const e = ivrs_parse(t.data(), t.size(), &info);
    check(info.unit_count <= IvrsInfo::kMaxUnits && info.range_count <= IvrsInfo::kMaxRanges &&
              info.reserved_count <= IvrsInfo::kMaxReserved,
          "counts");
    if (e != IvrsError::None) return 0;
    check(info.unit_count > 0, "accepted without a unit");
    for (u32 i = 0; i < info.unit_count; ++i)
        check(info.units[i].reg_base && info.units[i].reg_base % 4096 == 0, "unit register base");
    for (u32 i = 0; i < info.range_count; ++i) check(info.ranges[i].first <= info.ranges[i].last, "range order");
    for (u32 i = 0; i < info.reserved_count; ++i) {
        IvrsReserved const& r = info.reserved[i];
        check(r.base <= r.limit && r.base % 4096 == 0 && (r.limit + 1) % 4096 == 0, "memory block");
    }
    for (u32 id : {0u, 0x10u, 0xFFu, 0x100u, 0xFFFFu}) {
        u16 req = 0;
        bool const c = ivrs_covers(info, static_cast<u16>(id), &req);
        bool aliased = false;
        for (u32 i = 0; i < info.range_count; ++i)
            aliased = aliased || (info.ranges[i].aliased && id >= info.ranges[i].first && id <= info.ranges[i].last);
        check(c || req == id, "an uncovered ID has another requester");
        check(aliased || req == id, "a requester without an alias");
    }
    return 0;
}
