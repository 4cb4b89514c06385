#include "core/memmap.hpp"

namespace tv {

namespace {

constexpr u64 kMaxU64 = ~0ull;
constexpr u64 k1M = 1ull << 20;
constexpr u64 k16M = 16ull << 20;
constexpr u64 k4G = 4ull << 30;

// Overlap resolution order: Usable loses to everything, other types by number.
constexpr u64 rank(MemType t) { return t == MemType::Usable ? 0 : u64{static_cast<u32>(t)} + 1; }

constexpr u64 min(u64 a, u64 b) { return a < b ? a : b; }

constexpr u64 clamped_length(u64 base, u64 length) {
    return length > kMaxU64 - base ? kMaxU64 - base : length;
}

constexpr bool overlaps(u64 a_base, u64 a_end, u64 b_base, u64 b_end) {
    return a_base < b_end && b_base < a_end;
}

constexpr MemRange kNoRange{0, 0, MemType::Reserved};

}  // namespace

Status MemoryMap::add(u64 base, u64 length, MemType type) {
    if (n_ >= kMaxEntries)
        return Status::NoMemory;
    ranges_[n_++] = MemRange{base, clamped_length(base, length), type};
    return Status::Ok;
}

MemRange const& MemoryMap::at(size_t i) const { return i < n_ ? ranges_[i] : kNoRange; }

void MemoryMap::adopt_scratch(size_t n) {
    for (size_t i = 0; i < n; ++i)
        ranges_[i] = scratch_[i];
    n_ = n;
}

// A sweep over every range boundary: each stretch between two boundaries gets the winning
// type of the ranges covering it. Quadratic, but n is small and this runs at boot.
void MemoryMap::normalize() {
    size_t out = 0;
    u64 pos = kMaxU64;
    for (size_t i = 0; i < n_; ++i)
        if (ranges_[i].length != 0)
            pos = min(pos, ranges_[i].base);

    for (;;) {
        u64 next = kMaxU64;
        bool covered = false, any = false;
        MemType winner = MemType::Usable;
        for (size_t i = 0; i < n_; ++i) {
            MemRange const& r = ranges_[i];
            if (r.length == 0 || r.end() <= pos)
                continue;
            any = true;
            if (r.base > pos) {
                next = min(next, r.base);
                continue;
            }
            next = min(next, r.end());
            if (!covered || rank(r.type) > rank(winner))
                winner = r.type;
            covered = true;
        }
        if (!any)
            break;
        if (covered) {
            if (out > 0 && scratch_[out - 1].end() == pos && scratch_[out - 1].type == winner) {
                scratch_[out - 1].length += next - pos;
            } else {
                // Unreachable (see kCapacity); were it not, keeping the old map would beat
                // silently dropping a range.
                if (out == kCapacity)
                    return;
                scratch_[out++] = MemRange{pos, next - pos, winner};
            }
        }
        pos = next;
    }
    adopt_scratch(out);
}

Status MemoryMap::set_type(u64 base, u64 length, MemType type) {
    length = clamped_length(base, length);
    if (length == 0)
        return Status::Ok;
    normalize();
    // On a normalized map at most one range straddles both ends of the new one.
    if (n_ + 2 > kCapacity)
        return Status::NoMemory;
    u64 const end = base + length;
    size_t out = 0;
    for (size_t i = 0; i < n_; ++i) {
        MemRange const r = ranges_[i];
        if (!overlaps(r.base, r.end(), base, end)) {
            scratch_[out++] = r;
            continue;
        }
        if (r.base < base)
            scratch_[out++] = MemRange{r.base, base - r.base, r.type};
        if (r.end() > end)
            scratch_[out++] = MemRange{end, r.end() - end, r.type};
    }
    scratch_[out++] = MemRange{base, length, type};
    adopt_scratch(out);
    normalize();
    return Status::Ok;
}

namespace {

struct Obstacles {
    MemRange const* ranges;
    size_t n_ranges;
    u64 const* avoid_base;
    u64 const* avoid_len;
    size_t n_avoid;

    // The lowest base among the obstacles overlapping [base, end), if any.
    bool lowest_conflict(u64 base, u64 end, u64* out) const {
        bool found = false;
        u64 lowest = kMaxU64;
        for (size_t i = 0; i < n_ranges; ++i) {
            MemRange const& r = ranges[i];
            if (r.type == MemType::Usable || r.length == 0)
                continue;
            if (overlaps(r.base, r.end(), base, end)) {
                found = true;
                lowest = min(lowest, r.base);
            }
        }
        for (size_t i = 0; i < n_avoid; ++i) {
            u64 const a_end = avoid_base[i] + clamped_length(avoid_base[i], avoid_len[i]);
            if (avoid_len[i] != 0 && overlaps(avoid_base[i], a_end, base, end)) {
                found = true;
                lowest = min(lowest, avoid_base[i]);
            }
        }
        *out = lowest;
        return found;
    }
};

// The highest fitting block inside [lo, hi). Every conflict moves the top below that
// obstacle for good, so this loops at most once per obstacle.
bool top_fit(Obstacles const& obs, u64 lo, u64 hi, u64 size, u64 align, u64* out) {
    for (;;) {
        if (hi < lo || hi - lo < size)
            return false;
        u64 const cand = align_down(hi - size, align);
        if (cand < lo)
            return false;
        u64 obstacle_base;
        if (!obs.lowest_conflict(cand, cand + size, &obstacle_base)) {
            *out = cand;
            return true;
        }
        hi = obstacle_base;
    }
}

}  // namespace

bool MemoryMap::find_top_usable(u64 size, u64 align, u64 limit, u64 const avoid_base[],
                                u64 const avoid_len[], size_t n_avoid, u64* out_base) const {
    if (align == 0)
        align = 1;
    if (size == 0 || (align & (align - 1)) != 0)
        return false;
    Obstacles const obs{ranges_, n_, avoid_base, avoid_len, n_avoid};
    bool found = false;
    u64 best = 0;
    for (size_t i = 0; i < n_; ++i) {
        MemRange const& r = ranges_[i];
        u64 cand;
        if (r.type != MemType::Usable)
            continue;
        if (!top_fit(obs, r.base, min(r.end(), limit), size, align, &cand))
            continue;
        if (!found || cand > best)
            best = cand;
        found = true;
    }
    if (found)
        *out_base = best;
    return found;
}

u64 MemoryMap::top_of_ram() const {
    u64 top = 0;
    for (size_t i = 0; i < n_; ++i) {
        MemType const t = ranges_[i].type;
        if (t == MemType::Usable || t == MemType::AcpiReclaim || t == MemType::AcpiNvs)
            top = ranges_[i].end() > top ? ranges_[i].end() : top;
    }
    return top;
}

u64 MemoryMap::max_address() const {
    u64 top = 0;
    for (size_t i = 0; i < n_; ++i)
        if (ranges_[i].length != 0 && ranges_[i].end() > top)
            top = ranges_[i].end();
    return top;
}

u64 MemoryMap::usable_run_end_from(u64 start) const {
    u64 pos = start;
    for (bool grew = true; grew;) {
        grew = false;
        for (size_t i = 0; i < n_; ++i) {
            MemRange const& r = ranges_[i];
            if (r.type == MemType::Usable && r.base <= pos && r.end() > pos) {
                pos = r.end();
                grew = true;
            }
        }
    }
    return pos;
}

void MemoryMap::e801(u16* kb_1m_16m, u16* blocks64k_above_16m) const {
    u64 const run_end = usable_run_end_from(k1M);
    // Both fit by construction: at most 15 MiB / 1 KiB = 0x3C00 and 4080 MiB / 64 KiB = 0xFF00.
    *kb_1m_16m = static_cast<u16>((min(run_end, k16M) - k1M) >> 10);
    *blocks64k_above_16m = static_cast<u16>(run_end > k16M ? (min(run_end, k4G) - k16M) >> 16 : 0);
}

// 0xFC00 KiB (64 MiB in all, counting the first MiB) is the cap BIOSes traditionally apply
// to this call; software needing more asks E801 or E820, so a larger answer gains nothing.
u16 MemoryMap::ext_kb_88h() const {
    u64 const kb = (usable_run_end_from(k1M) - k1M) >> 10;
    return static_cast<u16>(min(kb, kExt88Cap));
}

bool MemoryMap::e820_entry(u32 index, E820Entry* out, u32* next_index) const {
    if (index >= n_)
        return false;
    MemRange const& r = ranges_[index];
    *out = E820Entry{r.base, r.length, static_cast<u32>(r.type)};
    *next_index = index + 1 < n_ ? index + 1 : 0;
    return true;
}

}  // namespace tv
