// What the boot loader told us, copied into monitor memory before the guest may overwrite
// the loader's structures.
#pragma once

#include "core/guest_start.hpp"
#include "core/memmap.hpp"
#include "core/types.hpp"

namespace tv {

struct BootModule {
    u64 start, end;   // where the loader put it (guest memory: copy before the guest runs)
    void* copy;       // the monitor's copy, filled in after relocation
    char name[128];   // the module's command line, e.g. "thinvisor.conf"
};

// Which firmware started us. Decides only how the guest starts: BIOS boots the boot disk
// from real mode (INT 15h hooked), UEFI resumes the loader's CPU state.
enum class Firmware : u8 { Bios, Uefi };

struct BootInfo {
    static constexpr u32 kMaxModules = 8;
    Firmware firmware{Firmware::Bios};
    MemoryMap firmware_map{};  // as the firmware reported it (E820 types)
    char cmdline[1024]{};
    BootModule modules[kMaxModules]{};
    u32 module_count{0};
    u64 mbi_phys{0}, mbi_len{0};      // loader structures to stay clear of while relocating
    u64 acpi_rsdp{0};                 // UEFI: from the configuration table; 0 = scan BIOS areas
    LongModeStart uefi_cpu{};         // UEFI: where the firmware resumes as the guest
};

BootInfo& boot_info();

// Reads a multiboot v1 information structure at a physical address that is currently
// identity-mapped. Returns false with a reason when it is not usable.
[[nodiscard]] bool parse_multiboot(u32 magic, u64 mbi_phys, BootInfo* out, char const** why);

// E820 type number -> MemType; unknown types become Reserved (never guest-usable RAM).
MemType e820_memtype(u32 type);

// Zeroes the module's original in guest RAM once the monitor holds its copy: keyslot files
// and thinvisor.conf must not stay where the guest can scan for them (a keyslot file invites
// an offline attack on its passphrase). A range that touches the monitor's own region is
// left alone (it is not guest RAM). Returns whether it wiped.
bool wipe_module_original(BootModule const& m);

// Value of "key=value" in the monitor command line, or nullptr.
char const* cmdline_value(char const* key, char* buf, size_t n);

}  // namespace tv
