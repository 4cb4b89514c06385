// The physical memory map as firmware reports it, cleaned up, edited by the monitor (to hide
// its own memory) and answered back to the guest through the legacy BIOS size queries.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class MemType : u32 {  // E820 type numbers
    Usable = 1,
    Reserved = 2,
    AcpiReclaim = 3,
    AcpiNvs = 4,
    Unusable = 5,
};

struct MemRange {
    u64 base;
    u64 length;
    MemType type;

    constexpr u64 end() const { return base + length; }
};

// The record INT 15h AX=E820 copies to ES:DI.
struct E820Entry {
    u64 base;
    u64 length;
    u32 type;
} __attribute__((packed));
static_assert(sizeof(E820Entry) == 20);

class MemoryMap {
  public:
    static constexpr size_t kMaxEntries = 128;  // raw firmware entries accepted by add()

    void clear() { n_ = 0; }

    // A raw firmware entry; entries may be unsorted and may overlap. A range reaching past
    // the top of the 64-bit space is cut one byte short of it. NoMemory once kMaxEntries
    // entries are held.
    [[nodiscard]] Status add(u64 base, u64 length, MemType type);

    // Sorts, resolves overlaps (a non-Usable type wins over Usable; among the others the
    // higher type number wins), merges adjacent ranges of equal type, drops empty ones.
    void normalize();

    // Gives [base, base+length) the type, whatever was there, then normalizes.
    [[nodiscard]] Status set_type(u64 base, u64 length, MemType type);

    size_t count() const { return n_; }
    MemRange const& at(size_t i) const;  // an empty Reserved range when i >= count()

    // The highest block of `size` bytes, aligned to `align` (a power of two; 0 means 1),
    // ending at or below `limit`, inside one Usable range and overlapping none of the
    // n_avoid ranges [avoid_base[i], avoid_base[i] + avoid_len[i]). Expects a normalized map.
    [[nodiscard]] bool find_top_usable(u64 size, u64 align, u64 limit, u64 const avoid_base[],
                                       u64 const avoid_len[], size_t n_avoid,
                                       u64* out_base) const;

    u64 top_of_ram() const;   // end of the highest Usable, AcpiReclaim or AcpiNvs range
    u64 max_address() const;  // end of the highest range of any type

    // INT 15h AX=E801, from the usable run that starts at 1 MiB (so a carved-out hole ends
    // it): KiB between 1 MiB and 16 MiB (at most 0x3C00), and 64 KiB blocks between 16 MiB
    // and 4 GiB (zero unless the run reaches 16 MiB).
    void e801(u16* kb_1m_16m, u16* blocks64k_above_16m) const;

    // INT 15h AH=88h: KiB of the usable run from 1 MiB, capped at kExt88Cap.
    static constexpr u16 kExt88Cap = 0xFC00;  // 63 MiB, see ext_kb_88h()
    u16 ext_kb_88h() const;

    // INT 15h AX=E820 with continuation value `index` (0 starts the walk). Fills *out and
    // sets *next_index (0 after the last entry); false when index is past the end.
    [[nodiscard]] bool e820_entry(u32 index, E820Entry* out, u32* next_index) const;

  private:
    // Normalizing k overlapping raw ranges can yield up to 2k-1 pieces, and each set_type()
    // can add two more: raw input is limited to kMaxEntries, storage is twice that.
    static constexpr size_t kCapacity = 2 * kMaxEntries + 2;

    u64 usable_run_end_from(u64 start) const;
    void adopt_scratch(size_t n);

    MemRange ranges_[kCapacity]{};
    MemRange scratch_[kCapacity]{};  // normalize() and set_type() work space, kept off the stack
    size_t n_{0};
};

}  // namespace tv
