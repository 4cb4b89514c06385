// Builder for the second-level page tables that translate guest-physical to host-physical
// addresses: AMD nested page tables (NPT) or Intel extended page tables (EPT). Both are
// four-level radix trees of 512 eight-byte entries a page; only the entry bits differ, and
// that difference stays inside this class.
//
// The builder is pure: it writes table memory but never flushes a TLB. After unmap() or
// protect(), or a map() over an existing mapping, the caller flushes (INVEPT, or a new
// ASID / TLB_CONTROL) before relying on the change. Not thread-safe: the owner locks.
#pragma once

#include "core/types.hpp"
#include "lib/spinlock.hpp"

namespace tv {

enum class NestedFormat : u8 { Npt, Ept };

// Access a guest is granted to a page. The bit values are EPT's R, W and X bits.
enum class Perm : u8 { None = 0, R = 1, W = 2, X = 4, RW = 3, RX = 5, RWX = 7 };

constexpr Perm operator|(Perm a, Perm b) {
    return static_cast<Perm>(static_cast<u8>(a) | static_cast<u8>(b));
}
constexpr Perm operator&(Perm a, Perm b) {
    return static_cast<Perm>(static_cast<u8>(a) & static_cast<u8>(b));
}
constexpr bool has(Perm set, Perm bits) { return (set & bits) == bits; }

// Memory type of a mapping. Under EPT it replaces the MTRRs (combined with the guest's PAT),
// so device memory must be mapped Uncached or a guest running without paging, such as
// firmware, would access it cached. Under NPT it selects host PAT entry 0 (WB) or 3 (UC),
// which hold those types unless the monitor reprograms its PAT.
enum class Cache : u8 { WriteBack, Uncached };

// Where table pages come from. The monitor implements it over its PageAllocator and direct
// map; host tests over ordinary memory. There is no virtual destructor (so nothing pulls in
// operator delete); the destructor is protected so nobody deletes through this interface.
struct PageSource {
    // A zero-filled, 4 KiB-aligned page below 2^52; NoMemory when exhausted.
    [[nodiscard]] virtual Status alloc_zeroed_page(Hpa* out) = 0;
    virtual void* to_virt(Hpa page) = 0;  // where the monitor can read and write that page

  protected:
    ~PageSource() = default;
};

class NestedPageTable {
  public:
    static constexpr u64 kGpaLimit = 1ull << 48;  // what four levels translate
    static constexpr u64 kHpaLimit = 1ull << 52;  // the entries' address field

    // allow_1g: the CPU supports 1 GiB leaves (NPT: CPUID 8000_0001h EDX[26]; EPT:
    // IA32_VMX_EPT_VPID_CAP bit 17).
    void init(NestedFormat format, PageSource* source, bool allow_1g);
    // Before it, map(), unmap() and protect() are Invalid and translate() finds nothing.
    [[nodiscard]] Status create_root();  // Exists if already created

    // Maps [gpa, gpa + size) to [hpa, hpa + size), replacing whatever was there, each piece
    // with the largest page that the alignment of gpa and hpa and the remaining size allow.
    // A large page that is only partly covered is split first, so the rest of it stays
    // mapped as before. Perm::None unmaps. Invalid for an unaligned, empty or out-of-range
    // range or a permission the format cannot express: NPT always allows execution (no NX
    // here), so X alone and W without R are Invalid; EPT rejects W without R (a
    // misconfiguration there) but allows X alone (the caller checks the CPU's execute-only
    // support). NoMemory when a table page cannot be had: the part already done stays done,
    // nothing else is lost.
    [[nodiscard]] Status map(Gpa gpa, Hpa hpa, u64 size, Perm perm,
                             Cache cache = Cache::WriteBack);

    // Makes [gpa, gpa + size) not present, splitting large pages that stick out of it.
    // Holes in the range are fine. NoMemory as for map().
    [[nodiscard]] Status unmap(Gpa gpa, u64 size);

    // Changes the permissions of the existing mappings in [gpa, gpa + size), keeping their
    // targets and memory types, splitting large pages that stick out of it. NotFound,
    // changing nothing, if part of the range is not mapped; Invalid for Perm::None (that is
    // unmap()) and as for map().
    [[nodiscard]] Status protect(Gpa gpa, u64 size, Perm perm);

    // Merges the tables under [gpa, gpa + size) back into large pages wherever a table maps
    // one aligned, contiguous range with one set of attributes: what a split leaves behind
    // once its part is mapped back as it was (a hooked BAR that moved away). Tables dropped
    // here, or replaced by a large map(), are retired, not reused at once: a CPU may walk them
    // through its cached translations until its nested TLB is flushed.
    void collapse(Gpa gpa, u64 size);
    // Every CPU's nested TLB has been flushed since the retired tables were retired: they
    // become the spares new tables are taken from before the PageSource is asked.
    void recycle_retired();
    size_t retired_tables() const { return retired_n_; }
    size_t spare_tables() const { return spare_n_; }
    static constexpr size_t kMaxRetired = 64;  // more are dropped (leaked) and counted
    u64 lost_tables() const { return lost_; }

    // The mapping of gpa: host address of that byte, permissions (NPT reports X always) and
    // the size of the page it sits in. Any output pointer may be null.
    [[nodiscard]] bool translate(Gpa gpa, Hpa* out, Perm* perm, u64* page_size) const;

    Hpa root() const { return root_; }  // NPT: the VMCB's N_CR3
    u64 eptp() const;                   // EPT: root with write-back walks and 4 levels
    NestedFormat format() const { return format_; }

  private:
    enum class Edit : u8 { Unmap, Protect };

    [[nodiscard]] bool perm_ok(Perm perm) const;
    [[nodiscard]] Status check_range(u64 gpa, u64 size) const;
    u64 perm_bits(Perm perm) const;
    u64 perm_mask() const;
    u64 cache_bits(Cache cache) const;
    static u64 leaf(u64 hpa, u64 attrs, unsigned level);
    static u64 attrs_of(u64 entry, unsigned level);
    bool present(u64 entry) const;
    Perm perm_of(u64 entry) const;
    u64* table(u64 hpa) const;
    [[nodiscard]] Status new_table(u64* out);
    bool leaf_allowed(unsigned level) const;
    [[nodiscard]] Status child_table(u64* entry, unsigned level, u64** out);
    [[nodiscard]] Status split(u64* entry, unsigned level, u64** out);
    [[nodiscard]] Status map_in(u64* t, unsigned level, u64 gpa, u64 end, u64 hpa, u64 attrs);
    [[nodiscard]] Status edit_in(u64* t, unsigned level, u64 gpa, u64 end, Edit edit, Perm perm);
    [[nodiscard]] bool fully_mapped(u64 gpa, u64 end) const;
    void retire(u64 table_hpa);
    void retire_tree(u64 entry, unsigned level);
    bool collapse_entry(u64* entry, unsigned level);

    PageSource* source_{nullptr};
    Hpa root_{0};
    bool has_root_{false};
    bool allow_1g_{false};
    NestedFormat format_{NestedFormat::Npt};
    SpinLock lock_;  // every CPU's exits may edit the one shared table
    u64 retired_[kMaxRetired]{};
    u64 spare_[kMaxRetired]{};
    size_t retired_n_{0}, spare_n_{0};
    u64 lost_{0};
};

}  // namespace tv
