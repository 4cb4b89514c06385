#include "core/handlers/boot_chain.hpp"

#include "core/layout.hpp"
#include "core/log.hpp"

namespace tv {

void boot_chain_write(u8* iac, bool set) {
    u32 const v = set ? kBootChainMarker : 0;
    for (u32 i = 0; i < 4; ++i) iac[i] = static_cast<u8>(v >> (8 * i));
}

namespace {
// Only a BIOS boot marks; a UEFI guest's low memory is never touched.
constinit bool g_marked = false;
u8* iac() { return static_cast<u8*>(phys_to_virt(kBootChainMarkerGpa)); }
}  // namespace

void boot_chain_mark() {
    boot_chain_write(iac(), true);
    g_marked = true;
    log("boot chain: marker %#x at %#llx for the boot loader's second pass", kBootChainMarker,
        static_cast<unsigned long long>(kBootChainMarkerGpa));
}

void boot_chain_clear() {
    if (g_marked) boot_chain_write(iac(), false);
}

}  // namespace tv
