// Bus-master DMA for the IDE mediator: the guest's PRD table is copied into monitor memory
// once, validated there, and only that copy is used afterwards. The device is given a PRD
// table the monitor owns, pointing at monitor bounce buffers (encrypted disks) or at the
// validated guest buffers themselves (disks passed through unencrypted). A guest that
// rewrites its table after starting the transfer changes nothing.
//
// Pure: guest memory and ports are reached through IdeEnv, so host tests drive it with a
// fake guest memory and a fake device (tests/unit/test_ide_shadow.cpp).
#pragma once

#include "core/types.hpp"

namespace tv::ata {

// A physical region descriptor as the bus-master engine reads it (SFF-8038i): a 32-bit
// physical base, a byte count (0 = 64 KiB) and the end-of-table bit.
struct PrdEntry {
    u32 base;
    u16 bytes;
    u16 flags;
};
static_assert(sizeof(PrdEntry) == 8);
inline constexpr u16 kPrdEot = 0x8000;
inline constexpr u64 kPrdMaxBytes = 0x10000;  // one entry, and the boundary none may cross

// More entries than any driver we know builds (Linux: 128-256); a longer table is refused.
inline constexpr u32 kMaxPrdEntries = 512;

// What the IDE code needs from the monitor (or from a test).
class IdeEnv {
  public:
    virtual u32 port_in(u16 port, u8 size) = 0;
    virtual void port_out(u16 port, u8 size, u32 value) = 0;
    // n 16-bit words from / to a data port, as REP INSW/OUTSW.
    virtual void port_in_words(u16 port, u16* buf, u32 n) = 0;
    virtual void port_out_words(u16 port, u16 const* buf, u32 n) = 0;
    // Guest RAM the device may reach: never the monitor's region, never device memory.
    virtual bool guest_ram(Gpa gpa, u64 bytes) = 0;
    // The monitor's view of guest-physical memory; only for ranges guest_ram accepted.
    virtual u8* guest_ptr(Gpa gpa) = 0;
    virtual void log(char const* fmt, ...) __attribute__((format(printf, 2, 3))) = 0;
    // Whether this refusal (device, cause) is still to be logged: repeated ones are cut by the
    // monitor's rate limit (core/log_limit). Counted either way.
    virtual bool log_allowed(char const*, char const*) { return true; }
    // Starts or stops the guest's exits on ports [first, first + count), effective on every
    // vCPU before the guest's next instruction. False when that cannot be promised (several
    // vCPUs, or no guest running yet): the ports then stay as they are, intercepted.
    [[nodiscard]] virtual bool set_port_intercept(u16, u16, bool) { return false; }

  protected:
    ~IdeEnv() = default;
};

// Monitor-owned memory of one channel: the PRD table the device reads and the bounce buffer.
struct DmaMemory {
    PrdEntry* prd;  // one page: room for kMaxPrdEntries entries
    Hpa prd_phys;
    u8* bounce;
    Hpa bounce_phys;  // 64 KiB aligned
    u32 bounce_bytes;
};

struct GuestRegion {
    Gpa gpa;
    u32 bytes;
};

enum class ShadowError : u8 {
    Ok,
    TableNotRam,      // the table itself is not (entirely) guest RAM
    TooLong,          // no end-of-table bit within kMaxPrdEntries entries
    OddAddress,       // a region's base is not 16-bit aligned
    NotGuestRam,      // a region points into monitor memory, device memory or past RAM
    SizeMismatch,     // the regions add up to another byte count than the command moves
    TooBig,           // more than the channel's bounce buffer holds
};
char const* shadow_error_name(ShadowError e);

class PrdShadow {
  public:
    // Copies the table at table_gpa (low two bits ignored, as the hardware does) and checks
    // every entry; expected_bytes is what the ATA command moves (sectors * sector size). With
    // exact false (ATAPI: the command block, not the taskfile, says how much moves, and a
    // driver's buffer may be longer than the device's answer) it is only the upper bound.
    [[nodiscard]] ShadowError load(IdeEnv& env, Gpa table, u64 expected_bytes, bool exact = true);
    u32 count() const { return n_; }
    GuestRegion const& at(u32 i) const { return regions_[i]; }
    u64 total() const { return total_; }

    // Between the guest's regions (as listed in the shadow, never re-read) and a linear
    // monitor buffer of total() bytes.
    void copy_from_guest(IdeEnv& env, u8* dst) const;
    void copy_to_guest(IdeEnv& env, u8 const* src) const;
    // The first min(n, total()) bytes only.
    void copy_to_guest_prefix(IdeEnv& env, u8 const* src, u64 n) const;

    // Room for every guest entry split once at a 64 KiB boundary.
    static constexpr u32 kMaxRegions = 2 * kMaxPrdEntries;

  private:
    GuestRegion regions_[kMaxRegions]{};
    u32 n_{0};
    u64 total_{0};
};

// The device's table for a contiguous monitor buffer at phys (64 KiB aligned): one entry per
// 64 KiB. Returns the entry count, 0 if bytes is 0 or more than max entries would be needed.
u32 build_bounce_prd(PrdEntry* table, u32 max, Hpa bounce, u64 bytes);
// The device's table for the shadow's own regions (validated guest buffers).
u32 build_direct_prd(PrdEntry* table, u32 max, PrdShadow const& shadow);

}  // namespace tv::ata
