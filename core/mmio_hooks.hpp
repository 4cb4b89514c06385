// The MMIO hook registry: a mediator claims a range of guest-physical device memory here.
// The range's pages are removed from the nested page tables, so every guest access faults;
// the monitor fetches and decodes the instruction (core/insn/), carries it out with each
// memory access that lands in the range handed to the hook, and moves the guest past it.
// Everything not claimed stays mapped and never exits.
//
// Granularity is the 4 KiB page: accesses to the part of a claimed page outside the range
// are performed on the device without calling the handler.
#pragma once

#include "core/device/device.hpp"
#include "core/exit_record.hpp"
#include "core/nested_paging.hpp"
#include "core/vcpu.hpp"

namespace tv {

enum class MmioAction : u8 {
    PassThrough,  // perform the access on the real device (a write with *value as changed)
    Handled,      // done; for a read, *value is what the guest reads
};

// size is 1, 2, 4 or 8; for a write *value holds the guest's data, for a read it is 0 on
// entry. Called with the exit's Vcpu, once per access (a REP MOVS makes several calls).
using MmioHandler = MmioAction (*)(void* ctx, Vcpu& v, Gpa gpa, u8 size, bool write, u64* value);

struct MmioHookId {
    u8 raw;
};

// Before any hook: the uncached window the pass-through accesses go through. tables: where
// its page-table pages come from.
[[nodiscard]] Status mmio_init(PageSource* tables);

// Exists when the range's pages overlap another hook's, Refused when they overlap the
// monitor's memory, NoMemory when the registry or the window is full.
// The handler, and the device access it hands back, run under dev's lock.
[[nodiscard]] Status mmio_hook_register(Device& dev, Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name,
                                        MmioHookId* id = nullptr);
// A hook that is a device of its own (the local APIC's ICR, the pass-through test).
[[nodiscard]] Status mmio_hook_register(Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name,
                                        MmioHookId* id = nullptr);
// The device whose lock the hook runs under (a BAR follow takes it), nullptr for a bad id.
Device* mmio_hook_device(MmioHookId id);

// The guest moves the device (a BAR write), with the hook's device lock held, so no CPU is
// inside the device's handler. Refused before anything changes (the caller must then leave
// the device where it is) when the new pages overlap the monitor (Refused) or another hook
// (Exists), span another number of pages, or the other CPUs cannot be made to flush
// (Unsupported). Otherwise, in this order: the new pages are taken from the guest; every
// CPU's nested TLB is flushed, complete before the next step; move_device(ctx) reprograms
// the device; the monitor's window follows it; the old pages are given back and their split
// large page merged again. v: the calling CPU's vCPU.
[[nodiscard]] Status mmio_hook_move(Vcpu& v, MmioHookId id, Gpa new_base, void (*move_device)(void*), void* ctx);
Gpa mmio_hook_base(MmioHookId id);

// Reads of the hook's pages go straight to the device (mapped read-only: only writes exit)
// or exit again (unmapped). For a mediator whose state needs no look at some moments (the
// AHCI mediator between doorbells, docs/ahci.md). Narrowing is complete on every CPU before it
// returns. Unsupported (nothing changes) when the other CPUs cannot be made to flush. Under
// the hook's device lock. v: the calling CPU's vCPU. [offset, offset + len) from the hook's
// first page, in whole pages, limits it to some of the hook's pages (the e1000's interrupt
// registers, docs/nic.md); a moved hook's pages all exit again.
[[nodiscard]] Status mmio_hook_reads_direct(Vcpu& v, MmioHookId id, bool direct, u64 offset = 0, u64 len = ~0ull);

// The access on the real device, uncached; what PassThrough does, for handlers that need the
// device's own value. False when gpa is not inside a hook's pages.
[[nodiscard]] bool mmio_device_access(Gpa gpa, u8 size, bool write, u64* value);

// Used by the instruction emulator: whether gpa lies in a claimed page, and one access there
// (hook or device). mmio_access is false when the access is not wholly inside one hook's pages.
bool mmio_hooked(u64 gpa);
[[nodiscard]] bool mmio_access(Vcpu& v, Gpa gpa, u8 size, bool write, u64* value);

// The nested fault on a claimed page: emulate the instruction, or refuse it loudly.
void mmio_fault(Vcpu& v, NestedFaultExit const& f);

// Unmaps again the claimed pages inside [base, base + size) after that range was mapped
// wholesale (the on-demand mapping of high device memory).
[[nodiscard]] Status mmio_hooks_reapply(Gpa base, u64 size);

// One log line per hook (exits, accesses) and a summary of emulation results.
void mmio_hooks_log();

}  // namespace tv
