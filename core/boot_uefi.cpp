// The monitor's UEFI entry (boot/uefi_entry.S calls tv_uefi_main on the loader's bridge
// page tables). It reads the loader's hand-off (include/thinvisor/uefi_handoff.h) and
// checks everything that could make it refuse while the firmware can still carry on
// unchanged: a refusal returns to the loader, which frees the region and reports it. Only
// then does it commit: its own page tables, the init shared with the multiboot path
// (monitor_main), and the firmware resumed as the guest in the state the loader captured.
#include <string.h>

#include "core/arch/x86/cpu.hpp"
#include "core/boot_info.hpp"
#include "core/early.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/main.hpp"
#include "thinvisor/uefi_handoff.h"

namespace tv {

namespace {

static_assert(TV_UEFI_REGION_SIZE == kMonitorSize && TV_UEFI_REGION_ALIGN == kLargePageSize);
static_assert(TV_UEFI_IMAGE_LOAD_PHYS == kLoadPhys && TV_UEFI_MAX_MODULES == BootInfo::kMaxModules);
static_assert(TV_UEFI_MAX_MEMMAP <= MemoryMap::kMaxEntries);

constexpr u64 kCr0PePg = x86::kCr0Pe | x86::kCr0Pg;
constexpr u64 kCr4Pae = 1ull << 5;
constexpr u64 kCr4La57 = 1ull << 12;  // five-level paging: the monitor builds four levels
constexpr u16 kAttrLong = 1u << 9;    // compressed attributes: descriptor bit 53 (L)
constexpr u16 kAttrPresent = 1u << 7;

u64 refuse(tv_uefi_status status, char const* why) {
    console("thinvisor: refusing to start: %s.", why);
    console("thinvisor: returning to the UEFI loader; nothing of the monitor stays active.");
    return status;
}

// A string field of the hand-off: it must end inside its array.
bool copy_bounded(char* dst, size_t dst_len, char const* src, size_t src_len) {
    size_t const n = strnlen(src, src_len);
    if (n == src_len || n >= dst_len) return false;
    memcpy(dst, src, n + 1);
    return true;
}

Segment segment(tv_uefi_segment const& s) { return Segment{s.selector, s.attr, s.limit, s.base}; }

// UEFI firmware need not load a task register (OVMF leaves TR = 0): the CPU then still holds
// its reset-time TR, a present busy TSS at 0. VM entry checks TR (VMX demands a usable busy
// 64-bit TSS in long mode), so the guest gets exactly that hidden state.
Segment task_register(tv_uefi_segment const& s) {
    constexpr u16 kBusyTss64 = 0x8B;  // present, system, type 11
    if (s.selector == 0 || s.attr == 0) return Segment{0, kBusyTss64, 0xFFFF, 0};
    return segment(s);
}

LongModeStart long_mode_state(tv_uefi_cpu_state const& c) {
    return LongModeStart{
        c.cr0, c.cr3, c.cr4, c.efer, c.rip, c.rsp, c.rflags,
        TableRegister{c.gdtr.base, c.gdtr.limit}, TableRegister{c.idtr.base, c.idtr.limit},
        segment(c.seg[TV_SEG_ES]), segment(c.seg[TV_SEG_CS]), segment(c.seg[TV_SEG_SS]),
        segment(c.seg[TV_SEG_DS]), segment(c.seg[TV_SEG_FS]), segment(c.seg[TV_SEG_GS]),
        segment(c.seg[TV_SEG_LDTR]), task_register(c.seg[TV_SEG_TR]),
        c.kernel_gs_base, c.pat, c.star, c.lstar, c.cstar, c.sfmask,
        c.sysenter_cs, c.sysenter_esp, c.sysenter_eip};
}

// The loader resumes in 64-bit code with four-level paging; anything else is not what a
// UEFI x64 loader runs in, and the monitor's own page tables could not coexist with it.
bool cpu_state_ok(tv_uefi_cpu_state const& c, char const** why) {
    u16 const cs = c.seg[TV_SEG_CS].attr;
    if ((c.cr0 & kCr0PePg) != kCr0PePg || !(c.cr4 & kCr4Pae) || !(c.efer & x86::kEferLma)) {
        *why = "the loader's CPU is not in long mode";
    } else if (c.cr4 & kCr4La57) {
        *why = "the firmware uses five-level paging, which the monitor does not support";
    } else if (!(cs & kAttrPresent) || !(cs & kAttrLong)) {
        *why = "the loader's code segment is not a present 64-bit segment";
    } else if (c.efer & x86::kEferSvme) {
        *why = "virtualization (EFER.SVME) is already in use by the firmware";
    } else {
        return true;
    }
    return false;
}

// The region must be Reserved in the map the firmware will give the OS, or the OS would
// take the monitor's memory as RAM.
bool region_reserved(MemoryMap const& map, u64 base, u64 size) {
    u64 covered = 0;
    for (size_t i = 0; i < map.count(); ++i) {
        MemRange const& r = map.at(i);
        u64 const lo = r.base > base ? r.base : base;
        u64 const hi = r.end() < base + size ? r.end() : base + size;
        if (lo >= hi) continue;
        if (r.type != MemType::Reserved) return false;
        covered += hi - lo;
    }
    return covered == size;
}

// Where the running image really is: the bridge tables' translation of the kernel window.
// The final tables map the window onto the hand-off's region_base, so the two must agree
// or the switch would continue in whatever lies there. 0 when not mapped.
u64 running_image_phys() {
    constexpr u64 kPresent = 1, kLarge = 0x80, kAddr = 0x000FFFFFFFFFF000ull;
    u64 entry = x86::read_cr3();
    for (int level = 3; level >= 0; --level) {
        u64 const index = (kImageVirt >> (12 + 9 * level)) & 511;
        entry = reinterpret_cast<u64 const*>(entry & kAddr)[index];  // identity-mapped tables
        if (!(entry & kPresent)) return 0;
        u64 const page = 1ull << (12 + 9 * level);
        if (level == 0 || (level <= 2 && (entry & kLarge)))
            return (entry & kAddr & ~(page - 1)) + (kImageVirt & (page - 1));
    }
    return 0;
}

bool parse_modules(tv_uefi_handoff const& h, BootInfo* bi, char const** why) {
    if (h.module_count > TV_UEFI_MAX_MODULES) {
        *why = "the hand-off lists too many boot modules";
        return false;
    }
    bi->module_count = 0;
    for (u32 i = 0; i < h.module_count; ++i) {
        tv_uefi_module const& m = h.modules[i];
        BootModule& bm = bi->modules[bi->module_count++];
        bm = BootModule{m.start, m.end, nullptr, {}};
        if (m.end < m.start || !copy_bounded(bm.name, sizeof bm.name, m.name, sizeof m.name)) {
            *why = "a boot module in the hand-off is malformed";
            return false;
        }
    }
    return true;
}

bool parse_memory_map(tv_uefi_handoff const& h, BootInfo* bi, char const** why) {
    if (h.memmap_count == 0 || h.memmap_count > TV_UEFI_MAX_MEMMAP) {
        *why = "the hand-off's memory map is empty or too long";
        return false;
    }
    bi->firmware_map.clear();
    for (u32 i = 0; i < h.memmap_count; ++i) {
        tv_uefi_mem_range const& r = h.memmap[i];
        if (r.length && !ok(bi->firmware_map.add(r.base, r.length, e820_memtype(r.type)))) {
            *why = "the hand-off's memory map has too many entries";
            return false;
        }
    }
    bi->firmware_map.normalize();
    if (!region_reserved(bi->firmware_map, h.region_base, h.region_size)) {
        *why = "the monitor's region is not reserved in the firmware's memory map";
        return false;
    }
    return true;
}

bool parse_handoff(tv_uefi_handoff const& h, BootInfo* bi, char const** why) {
    if (h.magic != TV_UEFI_HANDOFF_MAGIC || h.version != TV_UEFI_ABI_VERSION || h.size != sizeof h) {
        *why = "the loader's hand-off is not in this monitor's format (loader and monitor from different builds?)";
        return false;
    }
    if (!is_aligned(h.region_base, kLargePageSize) || h.region_size != kMonitorSize || h.region_base == 0) {
        *why = "the loader's region for the monitor is not 32 MiB, 2 MiB aligned";
        return false;
    }
    if (running_image_phys() != h.region_base) {
        *why = "the image does not run from the region the hand-off names";
        return false;
    }
    if (!copy_bounded(bi->cmdline, sizeof bi->cmdline, h.cmdline, sizeof h.cmdline)) {
        *why = "the monitor command line in the hand-off is not terminated";
        return false;
    }
    if (!parse_modules(h, bi, why) || !parse_memory_map(h, bi, why) || !cpu_state_ok(h.cpu, why)) return false;
    bi->firmware = Firmware::Uefi;
    bi->mbi_phys = bi->mbi_len = 0;
    bi->acpi_rsdp = h.acpi_rsdp;
    bi->uefi_cpu = long_mode_state(h.cpu);
    return true;
}

}  // namespace

// Runs on the monitor's boot stack in the kernel window; the hand-off is still reachable
// through the firmware's identity map, which the bridge tables keep.
extern "C" u64 tv_uefi_main(tv_uefi_handoff const* h) {
    log_init();
    log("thinvisor: UEFI entry (hand-off at %#llx, EFI system table %#llx)",
        static_cast<unsigned long long>(reinterpret_cast<u64>(h)), static_cast<unsigned long long>(h->system_table));
    if (image_has_static_constructors())
        return refuse(TV_UEFI_REFUSED_IMAGE, "the image has static constructors (forbidden: explicit init order)");
    BootInfo& bi = boot_info();
    char const* why = nullptr;
    if (!parse_handoff(*h, &bi, &why)) return refuse(TV_UEFI_REFUSED_HANDOFF, why);
    char cpu_why[160];
    if (!usable_backend(cpu_why, sizeof cpu_why)) return refuse(TV_UEFI_REFUSED_CPU, cpu_why);
    u64 const pml4 = build_monitor_tables(bi, h->region_base, &why);
    if (!pml4) return refuse(TV_UEFI_REFUSED_IMAGE, why);

    // Committed. The image already sits in its region (the loader copied it), so switching
    // to the monitor's tables is all that relocation takes here; this code and its stack
    // are in the kernel window, which both sets of tables map alike.
    x86::write_cr3(pml4);
    monitor_main();
}

}  // namespace tv
