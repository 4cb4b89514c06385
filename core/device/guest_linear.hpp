// The guest's linear memory as the monitor reaches it: the one guest page-table walk
// (core/guest_paging) over the one guest-memory rule (guest_memory.hpp), shared by string
// I/O (core/io_hooks) and MMIO emulation (core/insn/emulate). Paging structures, like the
// data they map, are read only where the rule allows, and the walk's reserved-bit checks use
// the CPU's own MAXPHYADDR, the same width the rule stops at.
#pragma once

#include "core/device/guest_memory.hpp"
#include "core/guest_paging.hpp"
#include "core/vcpu.hpp"

namespace tv {

// Reads and updates the guest's paging structures through the rule.
class GuestTableReader final : public GuestMemoryReader {
  public:
    explicit GuestTableReader(GuestMemory const& mem) : mem_(mem) {}
    [[nodiscard]] bool read_entry(Gpa gpa, u8 size, u64* value) override;
    [[nodiscard]] bool set_entry_bits(Gpa gpa, u8 size, u64 bits) override;

  private:
    GuestMemory const& mem_;
};

// What decides the guest's translation now, as the guest sees it.
GuestPagingState guest_paging_state(Vcpu const& v, GuestMemory const& mem);

class GuestLinear {
  public:
    GuestLinear(Vcpu const& v, GuestMemory const& mem) : mem_(mem), state_(guest_paging_state(v, mem)) {}

    // One linear address through the guest's paging (accessed/dirty bits set as the CPU would).
    [[nodiscard]] WalkStatus translate(u64 linear, GuestAccess access, Translation* out);
    // Copies n bytes to (write) or from guest memory, a page at a time, every byte translated
    // and inside the rule; with buf == nullptr only checks that the guest could make that
    // access. False when the guest would fault or any byte is not guest RAM; a write may
    // then have stored the pages before the refused one, as the CPU's own would have.
    [[nodiscard]] bool copy(u64 linear, u8* buf, u32 n, bool write, bool fetch);

  private:
    GuestMemory const& mem_;
    GuestPagingState state_;
};

}  // namespace tv
