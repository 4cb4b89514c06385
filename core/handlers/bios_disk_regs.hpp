// The registers of an INT 13h call the real-mode stub hands to a monitor disk (BIOS boot of a
// disk the firmware never saw). Plain data, so the disk services themselves stay host-tested.
#pragma once

#include "core/types.hpp"

namespace tv {

struct BiosDiskRegs {
    u32 eax, ebx, ecx, edx, esi, edi;
    u64 ds_base, es_base;  // real-mode segment bases (selector * 16)
    bool carry;            // out: the carry flag the caller sees
};

using BiosDiskFn = void (*)(void* ctx, BiosDiskRegs& r);

}  // namespace tv
