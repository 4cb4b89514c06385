// AMD-Vi translation structures, built once at boot (AMD IOMMU specification 48882, "Device
// Table", "I/O Page Tables for Host Translations", "Commands"): the device table (one 32-byte
// entry for each of the 65536 requester IDs: valid, translation valid, paging mode, page-table
// root, read/write permission, domain), host page tables in the v1 format, which the monitor
// fills with an identity map, and the few commands the monitor issues. Two domains, as for
// VT-d: functions a mediator owns reach all of memory (their DMA addresses are the monitor's
// own); every other requester ID reaches all of memory except the monitor's region. The table
// covers every ID, so no device, present or hot-plugged, finds an entry the monitor did not
// write. Pure: pages come from a PageSource, the device table from the caller.
#pragma once

#include "core/nested_paging.hpp"

namespace tv::iommu {

// Page-table entry bits: present, next level (bits 11:9; 0 = a leaf of its level's size), the
// address, read and write permission.
inline constexpr u64 kPtePresent = 1ull << 0, kPteIr = 1ull << 61, kPteIw = 1ull << 62;
inline constexpr u64 kPteAddress = 0x000FFFFFFFFFF000ull;
inline constexpr u32 kPteNextShift = 9;

// Device table entry: quadword 0 valid, translation valid, mode (bits 11:9, the paging levels),
// page-table root, IR/IW; quadword 1 the domain in bits 15:0; quadword 2 the interrupt filter
// below (or zero); quadword 3 (guest tables) stays zero.
struct DeviceTableEntry {
    u64 q[4];
};
static_assert(sizeof(DeviceTableEntry) == 32);
inline constexpr u64 kDteValid = 1ull << 0, kDteTranslate = 1ull << 1;
// Quadword 2, interrupt remapping (drivers/iommu/amdvi_interrupts.hpp builds it): IV, the
// table's length and root, the pass bits for INIT (never set), ExtINT, NMI, LINT0 and LINT1,
// and IntCtl (10b: fixed and arbitrated messages remapped through the table).
inline constexpr u64 kDteIv = 1ull << 0, kDteInitPass = 1ull << 56, kDteEintPass = 1ull << 57,
                     kDteNmiPass = 1ull << 58, kDteIntCtlRemap = 2ull << 60, kDteLint0Pass = 1ull << 62,
                     kDteLint1Pass = 1ull << 63;
inline constexpr u32 kDeviceIds = 65536;
inline constexpr u64 kDeviceTableBytes = u64{kDeviceIds} * sizeof(DeviceTableEntry);  // 2 MiB
inline constexpr u16 kAmdDomainGuarded = 1, kAmdDomainMediated = 2;

// An identity map of [0, top) with levels 3 or 4, leaving out [hole, hole + hole_size) (4 KiB
// aligned): 2 MiB leaves for blocks wholly outside the hole, 4 KiB leaves in the blocks it
// touches. *root: the top table. Invalid for top past what `levels` reaches.
[[nodiscard]] Status amdvi_build_identity(PageSource& ps, u8 levels, u64 top, u64 hole, u64 hole_size, Hpa* root);

// `interrupts`: quadword 2 (zero: every interrupt message passes as sent).
DeviceTableEntry amdvi_dte(Hpa root, u8 levels, u16 domain, u64 interrupts);

// Whether requester ID devid gets the mediated (full) domain.
using FullDomain = bool (*)(void* ctx, u16 devid);
// Fills all kDeviceIds entries of `table`, each with `interrupts` as quadword 2.
void amdvi_fill_device_table(DeviceTableEntry* table, u8 levels, Hpa guarded, Hpa full, FullDomain full_fn, void* ctx,
                             u64 interrupts);

// What requester devid's DMA to `addr` reaches through `table` (the walk the unit makes, for
// tests and the boot-time self-check): true with *out and *writable.
[[nodiscard]] bool amdvi_translate(PageSource& ps, DeviceTableEntry const* table, u16 devid, u64 addr, u64* out,
                                   bool* writable);

// A 16-byte command-buffer entry (opcode in bits 63:60 of the first quadword).
struct AmdViCommand {
    u64 lo, hi;
};
static_assert(sizeof(AmdViCommand) == 16);
// COMPLETION_WAIT storing `data` at `store` (8-byte aligned) once every earlier command is done.
AmdViCommand cmd_completion_wait(u64 store, u64 data);
AmdViCommand cmd_invalidate_devtab_entry(u16 devid);
AmdViCommand cmd_invalidate_domain_pages(u16 domain);  // every page of the domain, directories too
AmdViCommand cmd_invalidate_interrupt_table(u16 devid);  // after a change to that ID's remapping table
AmdViCommand cmd_invalidate_all();                     // INVALIDATE_IOMMU_ALL (where EFR.IASup)

}  // namespace tv::iommu
