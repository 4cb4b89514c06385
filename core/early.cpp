// First C++ code of the multiboot path: runs at the load address (physical 2 MiB), reads
// the loader's data, picks the monitor's permanent home at the top of low RAM, builds the
// final page tables there and moves the whole image. The guest later gets all memory below
// back. The steps shared with the UEFI entry (core/boot_uefi.cpp) are in core/early.hpp.
#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/host_paging.hpp"
#include "core/boot_info.hpp"
#include "core/early.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/main.hpp"

extern "C" char __image_end[], __init_array_start[], __init_array_end[];
extern "C" void tv_relocate(tv::u64 src, tv::u64 dst, tv::u64 len, tv::u64 new_cr3);

namespace tv {

namespace {

MonitorRegion g_region;
u64 g_tables_base;

constexpr u64 k4G = 4ull << 30;

[[noreturn]] void refuse(char const* why) {
    console("thinvisor: cannot start: %s", why);
    x86::halt_forever();
}

u64 choose_region(BootInfo const& bi) {
    u64 avoid_base[BootInfo::kMaxModules + 3], avoid_len[BootInfo::kMaxModules + 3];
    size_t n = 0;
    avoid_base[n] = 0, avoid_len[n++] = 1ull << 20;  // real-mode memory: the BIOS's
    avoid_base[n] = kLoadPhys, avoid_len[n++] = image_phys_len();
    avoid_base[n] = align_down(bi.mbi_phys, kPageSize), avoid_len[n++] = kPageSize * 2;
    for (u32 i = 0; i < bi.module_count; ++i)
        avoid_base[n] = bi.modules[i].start, avoid_len[n++] = bi.modules[i].end - bi.modules[i].start;
    u64 base = 0;
    if (!bi.firmware_map.find_top_usable(kMonitorSize, kLargePageSize, k4G, avoid_base, avoid_len, n, &base))
        refuse("no free, 2 MiB aligned block of 32 MiB below 4 GiB for the monitor");
    return base;
}

}  // namespace

MonitorRegion const& monitor_region() { return g_region; }
u64 virt_to_phys(void const* p) { return reinterpret_cast<u64>(p) - kImageVirt + g_region.base; }
u64 monitor_tables_base() { return g_tables_base; }

bool image_has_static_constructors() {
    return reinterpret_cast<u64>(__init_array_start) != reinterpret_cast<u64>(__init_array_end);
}

u64 image_phys_len() { return reinterpret_cast<u64>(__image_end) - kKernelVma - kLoadPhys; }

u64 build_monitor_tables(BootInfo const& bi, u64 base, char const** why) {
    u64 top = bi.firmware_map.top_of_ram();
    u64 direct_limit = align_up(top > k4G ? top : k4G, kHugePageSize);
    bool has_1g = x86::cpuid(0x80000001).edx & (1u << 26);
    u64 gib = direct_limit / kHugePageSize;
    u64 table_pages = 4 + gib / 512 + 1 + (has_1g ? 0 : gib);
    u64 tables = base + kMonitorSize - table_pages * kPageSize;
    if (align_up(image_phys_len(), kPageSize) > tables - base) {
        *why = "the monitor image is larger than its region";
        return 0;
    }
    x86::HostPagingPlan plan{base, kMonitorSize, direct_limit, has_1g};
    u64 used = 0;
    u64 pml4 = x86::build_host_page_tables(plan, tables, table_pages, 0, &used);
    if (!pml4) {
        *why = "could not build the monitor's page tables";
        return 0;
    }
    g_region = MonitorRegion{base, kMonitorSize};
    g_tables_base = tables;
    log("thinvisor: monitor region %#llx-%#llx (image %llu KiB, direct map %llu GiB%s)",
        static_cast<unsigned long long>(base), static_cast<unsigned long long>(base + kMonitorSize),
        static_cast<unsigned long long>(image_phys_len() >> 10), static_cast<unsigned long long>(gib),
        has_1g ? ", 1 GiB pages" : "");
    return pml4;
}

// The multiboot entry (boot/multiboot.S): running at the load address on the boot tables.
extern "C" [[noreturn]] void tv_early_main(u32 magic, u32 mbi) {
    log_init();
    if (image_has_static_constructors()) refuse("the image has static constructors (forbidden: explicit init order)");
    BootInfo& bi = boot_info();
    char const* why = nullptr;
    if (!parse_multiboot(magic, mbi, &bi, &why)) refuse(why);

    u64 base = choose_region(bi);
    u64 pml4 = build_monitor_tables(bi, base, &why);
    if (!pml4) refuse(why);
    tv_relocate(kLoadPhys, base, image_phys_len(), pml4);
    // From here on this code runs from the copy in the monitor region.
    monitor_main();
}

}  // namespace tv
