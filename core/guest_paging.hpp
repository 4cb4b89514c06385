// The guest's own paging, walked by the monitor: guest-linear -> guest-physical for the
// instruction emulator (fetching the instruction that touched an MMIO hook, and the RAM side
// of a string move). Pure: guest memory is read through GuestMemoryReader, so host tests
// walk tables in ordinary memory, and the monitor's reader refuses its own hidden region.
//
// Covered: paging off (real mode and protected mode without paging), 32-bit paging (4 KiB
// pages, 4 MiB pages with CR4.PSE, PSE-36 address bits), PAE paging, 4-level and 5-level
// paging (2 MiB and 1 GiB pages), with the write, user, execute-disable, CR0.WP, SMEP and
// SMAP rules and the #PF error code of the architecture. 5-level paging (CR4.LA57) is in
// because Linux turns it on wherever the CPU offers it (QEMU's -cpu max does), and it is
// the same walk with one more level. Not modelled: protection keys, and PAE PDPTEs are read
// from memory rather than taken from the CPU's PDPTE registers (they only differ when the
// guest rewrote its PDPT without reloading CR3).
#pragma once

#include "core/types.hpp"

namespace tv {

// The control state that decides how the guest translates, as the guest sees it.
struct GuestPagingState {
    u64 cr0, cr3, cr4, efer;
    u8 cpl;          // 3 = user accesses
    bool rflags_ac;  // SMAP: explicit supervisor data accesses to user pages allowed
    u8 maxphyaddr;   // physical address width for the reserved-bit checks; 0 = 52
};

struct GuestAccess {
    bool write;
    bool fetch;
};

// Where the walker reads paging structures and sets their accessed/dirty bits. The monitor's
// implementation refuses (returns false for) anything that is not guest RAM, the hidden
// monitor region first of all.
class GuestMemoryReader {
  public:
    // size 4 or 8, gpa aligned to size.
    [[nodiscard]] virtual bool read_entry(Gpa gpa, u8 size, u64* value) = 0;
    // Atomically ORs `bits` into the entry (accessed/dirty); false when refused.
    [[nodiscard]] virtual bool set_entry_bits(Gpa gpa, u8 size, u64 bits) = 0;

  protected:
    ~GuestMemoryReader() = default;
};

enum class WalkStatus : u8 {
    Ok,
    PageFault,     // the guest would see #PF with Translation::pf_error
    NonCanonical,  // long mode, linear address not canonical (the guest would see #GP/#SS)
    Unreadable,    // a paging structure lies where the reader refuses to read
};

struct Translation {
    Gpa gpa;
    u64 page_size;  // size of the guest page the address sits in (4 KiB when paging is off)
    u32 pf_error;   // for PageFault: P, W/R, U/S, RSVD, I/D bits as the CPU reports them
};

// #PF error code bits.
inline constexpr u32 kPfPresent = 1u << 0;
inline constexpr u32 kPfWrite = 1u << 1;
inline constexpr u32 kPfUser = 1u << 2;
inline constexpr u32 kPfReserved = 1u << 3;
inline constexpr u32 kPfFetch = 1u << 4;

// Control-register bits the walker looks at.
inline constexpr u64 kCr0Pe = 1ull << 0;
inline constexpr u64 kCr0Wp = 1ull << 16;
inline constexpr u64 kCr0Pg = 1ull << 31;
inline constexpr u64 kCr4Pse = 1ull << 4;
inline constexpr u64 kCr4Pae = 1ull << 5;
inline constexpr u64 kCr4La57 = 1ull << 12;
inline constexpr u64 kCr4Smep = 1ull << 20;
inline constexpr u64 kCr4Smap = 1ull << 21;
inline constexpr u64 kEferLma = 1ull << 10;
inline constexpr u64 kEferNxe = 1ull << 11;

// Translates one linear address. On success sets accessed bits along the walk and the dirty
// bit of the final entry for a write, as the CPU would.
[[nodiscard]] WalkStatus guest_translate(GuestPagingState const& s, u64 linear, GuestAccess access,
                                         GuestMemoryReader& mem, Translation* out);

}  // namespace tv
