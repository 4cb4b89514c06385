// libFuzzer target for MemoryMap: arbitrary raw firmware entries, then the invariants the
// guest-facing answers depend on. Built by `make fuzz` (mk/unit.mk); run by `make fuzz-run`.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/memmap.hpp"

using namespace tv;

namespace {

constexpr u64 kMax = ~0ull;

struct Raw {
    u64 base, length;
    MemType type;
};

// Five bytes an entry: a selector (type, scale, from-the-top flag) and two 16-bit numbers.
// Shared scales make overlaps and touching ranges common, which raw 64-bit values are not.
Raw decode(u8 const* p) {
    static constexpr unsigned kShift[] = {0, 12, 16, 20, 30, 32, 40, 48};
    u8 const sel = p[0];
    unsigned const shift = kShift[(sel >> 3) & 7];
    u64 const a = u64{static_cast<u16>(p[1] | p[2] << 8)} << shift;
    u64 const b = u64{static_cast<u16>(p[3] | p[4] << 8)} << shift;
    u64 const base = (sel & 0x80) != 0 ? kMax - a : a;
    return Raw{base, b, static_cast<MemType>(1 + (sel & 7) % 5)};
}

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

u64 rank(MemType t) { return t == MemType::Usable ? 0 : static_cast<u64>(t) + 1; }

// What the raw entries say about one address: 0 for nothing, else the winning type.
u32 expected_at(Raw const* raw, size_t n, u64 x) {
    bool covered = false;
    MemType best = MemType::Usable;
    for (size_t i = 0; i < n; ++i) {
        u64 const len = raw[i].length > kMax - raw[i].base ? kMax - raw[i].base : raw[i].length;
        if (raw[i].base <= x && x - raw[i].base < len) {
            if (!covered || rank(raw[i].type) > rank(best))
                best = raw[i].type;
            covered = true;
        }
    }
    return covered ? static_cast<u32>(best) : 0;
}

u32 type_at(MemoryMap const& m, u64 x) {
    for (size_t i = 0; i < m.count(); ++i)
        if (m.at(i).base <= x && x < m.at(i).end())
            return static_cast<u32>(m.at(i).type);
    return 0;
}

void check_normal(MemoryMap const& m) {
    check(m.count() <= 2 * MemoryMap::kMaxEntries + 1, "count bounded");
    for (size_t i = 0; i < m.count(); ++i) {
        check(m.at(i).length != 0, "no empty range");
        check(m.at(i).length <= kMax - m.at(i).base, "no wrap-around");
        if (i > 0) {
            check(m.at(i - 1).end() <= m.at(i).base, "sorted, not overlapping");
            check(m.at(i - 1).end() != m.at(i).base || m.at(i - 1).type != m.at(i).type,
                  "touching equal ranges merged");
        }
    }
    u32 index = 0;
    size_t steps = 0;
    do {
        E820Entry e;
        if (!m.e820_entry(index, &e, &index))
            break;
        check(++steps <= m.count(), "e820 walk terminates");
    } while (index != 0);
    check(steps == m.count(), "e820 walk sees every range");
    u16 low, high;
    m.e801(&low, &high);
    check(low <= 0x3C00 && high <= 0xFF00 && m.ext_kb_88h() <= MemoryMap::kExt88Cap, "caps");
    check(high == 0 || low == 0x3C00, "e801 run is contiguous");
}

void check_top_usable(MemoryMap const& m, Raw const& q) {
    u64 const size = q.length | 1, align = 1ull << (q.base % 40), limit = kMax - (q.base >> 1);
    u64 const avoid_base[] = {q.base};
    u64 const avoid_len[] = {q.length};
    u64 got;
    if (!m.find_top_usable(size, align, limit, avoid_base, avoid_len, 1, &got))
        return;
    check(got % align == 0 && got + size <= limit, "aligned, below the limit");
    check(type_at(m, got) == 1 && type_at(m, got + size - 1) == 1, "starts and ends usable");
    for (size_t i = 0; i < m.count(); ++i)
        check(m.at(i).type == MemType::Usable || m.at(i).end() <= got || got + size <= m.at(i).base,
              "overlaps no other type");
    check(q.length == 0 || got + size <= q.base || q.base + q.length <= got, "avoids");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    static MemoryMap m;  // large: keep it off the stack
    static Raw raw[MemoryMap::kMaxEntries + 1];
    m.clear();
    size_t n = 0;
    for (; size >= 5 && n <= MemoryMap::kMaxEntries; data += 5, size -= 5) {
        raw[n] = decode(data);
        Status const s = m.add(raw[n].base, raw[n].length, raw[n].type);
        check(ok(s) == (n < MemoryMap::kMaxEntries), "add accepts exactly kMaxEntries");
        if (ok(s))
            ++n;
    }
    m.normalize();
    check_normal(m);
    for (size_t i = 0; i < n; ++i) {
        u64 const end = raw[i].base + (raw[i].length > kMax - raw[i].base ? kMax - raw[i].base
                                                                            : raw[i].length);
        u64 const probes[] = {raw[i].base, raw[i].base - 1, end, end - 1};
        for (u64 x : probes)
            check(type_at(m, x) == expected_at(raw, n, x), "normalized types match the raw map");
    }
    if (n == 0)
        return 0;
    check_top_usable(m, raw[0]);

    Raw const carve = raw[n - 1];
    u64 const len = carve.length > kMax - carve.base ? kMax - carve.base : carve.length;
    u64 const probe_out = carve.base - 1;
    u32 const before = type_at(m, probe_out);
    if (ok(m.set_type(carve.base, carve.length, MemType::Reserved))) {
        check_normal(m);
        if (len != 0) {
            check(type_at(m, carve.base) == 2, "carved start reserved");
            check(type_at(m, carve.base + len - 1) == 2, "carved end reserved");
            check(carve.base == 0 || type_at(m, probe_out) == before, "outside untouched");
        }
    }
    return 0;
}
