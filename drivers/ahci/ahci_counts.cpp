// ABAR access counts by register class.
#include "drivers/ahci/ahci_counts.hpp"

#include "drivers/ahci/ahci_regs.hpp"

namespace tv::ata::ahci {

RegClass reg_class(u32 off) {
    if (off < kPortBase) {
        switch (off & ~3u) {
        case kCap: return RegClass::Cap;
        case kGhc: return RegClass::Ghc;
        case kIs: return RegClass::Is;
        case kPi: return RegClass::Pi;
        default: return RegClass::HbaOther;
        }
    }
    if (off >= kPortBase + kMaxPorts * kPortStride) return RegClass::HbaOther;
    switch ((off - kPortBase) % kPortStride & ~3u) {
    case kPxClb:
    case kPxClbu:
    case kPxFb:
    case kPxFbu: return RegClass::PxBases;
    case kPxIs: return RegClass::PxIs;
    case kPxIe: return RegClass::PxIe;
    case kPxCmd: return RegClass::PxCmd;
    case kPxTfd: return RegClass::PxTfd;
    case kPxSig: return RegClass::PxSig;
    case kPxSsts: return RegClass::PxSsts;
    case kPxSctl: return RegClass::PxSctl;
    case kPxSerr: return RegClass::PxSerr;
    case kPxSact: return RegClass::PxSact;
    case kPxCi: return RegClass::PxCi;
    default: return RegClass::PxOther;
    }
}

char const* reg_class_name(RegClass c) {
    static char const* const names[kRegClasses] = {
        "cap",      "ghc",     "is",     "pi",     "hba.other", "px.bases", "px.is",  "px.ie",    "px.cmd",
        "px.tfd",   "px.sig",  "px.ssts", "px.sctl", "px.serr",  "px.sact",  "px.ci", "px.other"};
    u32 const i = static_cast<u32>(c);
    return i < kRegClasses ? names[i] : "?";
}

u64 AccessCounts::total() const {
    u64 t = 0;
    for (u32 c = 0; c < kRegClasses; ++c) t += get(static_cast<RegClass>(c), false) + get(static_cast<RegClass>(c), true);
    return t;
}

bool access_counter_name(u32 i, char* name, u32 size) {
    if (i >= kAccessCounters || size < 17) return false;
    char const* parts[3] = {"ahci.", reg_class_name(static_cast<RegClass>(i / 2)), i % 2 ? ".w" : ".r"};
    u32 n = 0;
    for (char const* p : parts)
        for (; *p && n < 16; ++p) name[n++] = *p;
    name[n] = 0;
    return true;
}

}  // namespace tv::ata::ahci
