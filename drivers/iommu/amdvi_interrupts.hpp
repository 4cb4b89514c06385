// AMD-Vi interrupt remapping (AMD IOMMU specification 48882, "Interrupt Remapping Tables"):
// with IV set in a requester ID's device table entry the unit judges every interrupt message that
// ID sends, a device's MSI as much as a DMA write into 0xFEE00000-0xFEEFFFFF. The monitor sets it
// for every ID (issue 12, iommu-msi-init-by-dma; docs/iommu.md "Interrupt remapping on AMD-Vi"):
//   - INIT is dropped (InitPass clear), SMI has no pass bit; ExtINT, NMI, LINT0/1 pass.
//   - Fixed and arbitrated (lowest-priority) messages are remapped (IntCtl 10b) through a table
//     of 2048 4-byte entries indexed by the message data's bits 10:8 (delivery mode) and 7:0
//     (vector). An entry exists only for a message the guest programmed where the monitor sees
//     it (an IOAPIC redirection entry, a function's MSI or MSI-X registers): each source has its
//     own table, every other ID an empty one, so a DMA write can send only a message its source
//     (on QEMU 7.2: the IOAPIC, whose ID untagged DMA writes carry) was programmed with.
// Pure: tables are plain arrays the caller placed in memory the guest cannot reach.
#pragma once

#include "core/types.hpp"

namespace tv::iommu {

inline constexpr u32 kIrtEntries = 2048, kIrtLog2 = 11;  // index: data bits 10:0
inline constexpr u64 kIrtBytes = u64{kIrtEntries} * 4;    // 8 KiB, page aligned by the caller

// Device table entry quadword 2 for a source whose table is at `table` (4 KiB aligned).
u64 amdvi_dte_interrupts(u64 table);

// A 32-bit remapping table entry (guest virtual APIC off): RemapEn, IntType (bits 4:2), DM
// (bit 6), Destination (15:8), Vector (23:16).
struct IrtEntry {
    u32 index;
    u32 value;
};
// The entry an MSI with `address` and `data` needs (message `k` of a multiple-message MSI
// changes the data's low bits: the caller asks for each). False for a message the table does
// not carry: not in the interrupt window, or a delivery mode other than fixed or lowest priority.
[[nodiscard]] bool amdvi_irte_for_msi(u64 address, u32 data, IrtEntry* out);
// The entry an IOAPIC redirection entry (both halves) needs; the IOAPIC's message data holds
// the entry's vector and delivery mode. False as for MSI.
[[nodiscard]] bool amdvi_irte_for_ioapic(u64 rte, IrtEntry* out);
// The IOAPIC's message carries no pin, only vector and mode, and a guest with several CPUs gives
// the same vector number to different pins on different CPUs (Linux does). So the entry at
// `index` serves every unmasked pin of `rtes[0..n)` whose message has that index: one
// destination when they agree, else all of theirs (the logical destinations' union, or the
// physical broadcast), with fixed delivery; a CPU that gets a vector it did not assign counts a
// spurious interrupt, the guest's own cost. False when no unmasked pin has the index.
[[nodiscard]] bool amdvi_irte_for_ioapic_pins(u64 const* rtes, u32 n, u32 index, IrtEntry* out);
// The same rule over the entries a source's messages need (`slots`, value 0: none), for a
// function whose MSI-X entries share a vector on different CPUs (a multi-queue device).
[[nodiscard]] bool amdvi_irte_union(IrtEntry const* slots, u32 n, u32 index, IrtEntry* out);

// What the unit delivers for a message with `data` from an ID whose quadword 2 is `q2` and whose
// table is `table` (for tests and the boot self-check). False when the message is dropped.
struct Delivered {
    u8 vector, type, dest;
    bool logical;
};
[[nodiscard]] bool amdvi_remap(u64 q2, u32 const* table, u32 data, Delivered* out);

}  // namespace tv::iommu
