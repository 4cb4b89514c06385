// libFuzzer target: the monitor's ACPI reading (core/acpi.cpp: RSDP search, RSDT/XSDT, the
// FADT's power and reset registers, the MADT's processors) on firmware tables the input
// lays out in a model of physical memory (built with tests/unit/fuzz_acpi_shim.hpp). The
// harness can fix up checksums and lengths so the parser gets past them. Checks: nothing out
// of bounds (ASan/UBSan: past the model's first 1.06 MiB there is exactly the parser's
// 1 MiB table-length limit of zeros, then the end of the buffer); at most `max` processors,
// each APIC ID once.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fuzz_input.hpp"
#include "core/acpi.hpp"
#include "tests/unit/fuzz_acpi_shim.hpp"

namespace tv {

namespace {

constexpr u64 kPhys = 0x110000;     // what the model holds: low memory, BIOS area, tables
constexpr u64 kSlack = 1u << 20;    // the parser's table-length limit
u8* g_phys;                         // kPhys + kSlack bytes
alignas(16) u8 g_elsewhere[8192];   // every address past the model: zeros (no table there)
BootInfo* g_boot;

void fix_sum(u8* p, u64 n, u64 at) {
    p[at] = 0;
    u8 sum = 0;
    for (u64 i = 0; i < n; ++i) sum = static_cast<u8>(sum + p[i]);
    p[at] = static_cast<u8>(-sum);
}

}  // namespace

void* fuzz_phys_to_virt(u64 phys) { return phys < kPhys ? g_phys + phys : g_elsewhere + (phys & 4095); }
BootInfo& fuzz_boot_info() { return *g_boot; }

}  // namespace tv

using namespace tv;

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    if (!g_phys) {
        g_phys = static_cast<u8*>(calloc(kPhys + kSlack, 1));
        g_boot = new BootInfo;
    }
    Input in{data, size};
    u8 const flags = in.take<u8>();
    u32 const max = in.take<u8>() % 65;
    struct Written {
        u64 at, len;
    } written[64];
    u32 nw = 0;
    // Chunks: kind (0 raw, 1 SDT: length and checksum fixed, 2 RSDP: both checksums fixed),
    // physical address, length, bytes.
    while (in.n && nw < 64) {
        u8 const kind = in.take<u8>() % 3;
        u64 const at = in.take<u32>() % kPhys;
        u64 len = in.take<u16>();
        if (len > in.n) len = in.n;
        if (len > kPhys - at) len = kPhys - at;
        memcpy(g_phys + at, in.p, len);
        in.p += len;
        in.n -= len;
        written[nw++] = Written{at, len};
        u8* t = g_phys + at;
        if (kind == 1 && len >= 36) {
            u32 const l = static_cast<u32>(len);
            memcpy(t + 4, &l, 4);
            fix_sum(t, len, 9);
        } else if (kind == 2 && len >= 36) {
            fix_sum(t, 20, 8);
            fix_sum(t, 36, 32);
        }
    }
    g_boot->acpi_rsdp = (flags & 1) ? in.take<u32>() % kPhys : 0;
    if ((flags & 1) && nw) g_boot->acpi_rsdp = written[0].at;

    AcpiPower power;
    (void)acpi_find_power(&power);
    u32 ids[64];
    u32 const n = acpi_find_cpus(ids, max);
    check(n <= max, "at most max processors");
    for (u32 i = 0; i < n; ++i)
        for (u32 j = i + 1; j < n; ++j) check(ids[i] != ids[j], "each APIC ID once");

    for (u32 i = 0; i < nw; ++i) memset(g_phys + written[i].at, 0, written[i].len);
    return 0;
}
