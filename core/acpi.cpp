#include "core/acpi.hpp"

#include <string.h>

#include "core/boot_info.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"

namespace tv {

namespace {

struct __attribute__((packed)) Rsdp {
    char signature[8];
    u8 checksum;
    char oem[6];
    u8 revision;
    u32 rsdt;
    u32 length;
    u64 xsdt;
    u8 ext_checksum;
    u8 reserved[3];
};
static_assert(sizeof(Rsdp) == 36);

struct __attribute__((packed)) SdtHeader {
    char signature[4];
    u32 length;
    u8 revision, checksum;
    char oem[6], oem_table[8];
    u32 oem_rev, creator, creator_rev;
};
static_assert(sizeof(SdtHeader) == 36);

constexpr u32 kFadtPm1aCnt = 64;
constexpr u32 kFadtPm1bCnt = 68;
constexpr u32 kFadtResetReg = 116;  // generic address structure, 12 bytes
constexpr u32 kFadtResetValue = 128;
constexpr u64 kMaxTableLen = 1 << 20;

u8 const* phys(u64 a) { return static_cast<u8 const*>(phys_to_virt(a)); }

bool checksum_ok(u8 const* p, u64 n) {
    u8 sum = 0;
    for (u64 i = 0; i < n; ++i) sum = static_cast<u8>(sum + p[i]);
    return sum == 0;
}

Rsdp const* scan(u64 start, u64 len) {
    for (u64 a = start; a + sizeof(Rsdp) <= start + len; a += 16) {
        auto const* r = reinterpret_cast<Rsdp const*>(phys(a));
        if (memcmp(r->signature, "RSD PTR ", 8) == 0 && checksum_ok(phys(a), 20)) return r;
    }
    return nullptr;
}

SdtHeader const* table(u64 a) {
    if (a == 0) return nullptr;
    auto const* h = reinterpret_cast<SdtHeader const*>(phys(a));
    if (h->length < sizeof(SdtHeader) || h->length > kMaxTableLen || !checksum_ok(phys(a), h->length)) return nullptr;
    return h;
}

SdtHeader const* find_table(Rsdp const* rsdp, char const* sig) {
    bool x = rsdp->revision >= 2 && rsdp->xsdt;
    SdtHeader const* root = table(x ? rsdp->xsdt : rsdp->rsdt);
    if (!root) return nullptr;
    u32 entry = x ? 8 : 4;
    u8 const* p = reinterpret_cast<u8 const*>(root) + sizeof(SdtHeader);
    for (u32 off = 0; off + entry <= root->length - sizeof(SdtHeader); off += entry) {
        u64 a = 0;
        memcpy(&a, p + off, entry);
        SdtHeader const* t = table(a);
        if (t && memcmp(t->signature, sig, 4) == 0) return t;
    }
    return nullptr;
}

// MCFG: after the header, 8 reserved bytes, then 16-byte entries: base (8), segment (2),
// start bus, end bus, 4 reserved.
struct __attribute__((packed)) McfgEntry {
    u64 base;
    u16 segment;
    u8 start_bus, end_bus;
    u32 reserved;
};
static_assert(sizeof(McfgEntry) == 16);

// UEFI firmware publishes the RSDP only in its configuration table (the loader passes it
// on); a BIOS leaves it in the EBDA or the BIOS ROM area.
Rsdp const* find_rsdp() {
    if (u64 const given = boot_info().acpi_rsdp) {
        auto const* r = reinterpret_cast<Rsdp const*>(phys(given));
        return memcmp(r->signature, "RSD PTR ", 8) == 0 && checksum_ok(phys(given), 20) ? r : nullptr;
    }
    u64 ebda = static_cast<u64>(*reinterpret_cast<u16 const*>(phys(0x40E))) << 4;
    Rsdp const* rsdp = ebda ? scan(ebda, 1024) : nullptr;
    return rsdp ? rsdp : scan(0xE0000, 0x20000);
}

}  // namespace

bool acpi_find_power(AcpiPower* out) {
    *out = AcpiPower{};
    Rsdp const* rsdp = find_rsdp();
    if (!rsdp) return false;
    SdtHeader const* fadt = find_table(rsdp, "FACP");
    if (!fadt) return false;
    u8 const* f = reinterpret_cast<u8 const*>(fadt);
    u32 v = 0;
    if (fadt->length >= kFadtPm1bCnt + 4) {
        memcpy(&v, f + kFadtPm1aCnt, 4);
        out->pm1a_cnt = static_cast<u16>(v);
        memcpy(&v, f + kFadtPm1bCnt, 4);
        out->pm1b_cnt = static_cast<u16>(v);
    }
    if (fadt->length > kFadtResetValue && f[kFadtResetReg] == 1 /* system I/O space */) {
        u64 a = 0;
        memcpy(&a, f + kFadtResetReg + 4, 8);
        if (a && a < 0x10000) {
            out->reset_port = static_cast<u16>(a);
            out->reset_value = f[kFadtResetValue];
        }
    }
    return true;
}

// MADT (signature "APIC"): after the 36-byte header, the local APIC address (4 bytes) and
// flags (4), then variable-length entries: type 0 (local APIC: processor UID, APIC ID, flags)
// and type 9 (local x2APIC: ID at offset 4, flags at 8). Flags bit 0: enabled.
u32 acpi_find_cpus(u32* apic_ids, u32 max) {
    Rsdp const* rsdp = find_rsdp();
    SdtHeader const* madt = rsdp ? find_table(rsdp, "APIC") : nullptr;
    if (!madt) return 0;
    u8 const* p = reinterpret_cast<u8 const*>(madt);
    u32 n = 0;
    for (u32 off = sizeof(SdtHeader) + 8; off + 2 <= madt->length;) {
        u8 const type = p[off], len = p[off + 1];
        if (len < 2 || off + len > madt->length) break;
        u32 id = 0, flags = 0;
        bool cpu = false;
        if (type == 0 && len >= 8) {
            id = p[off + 3];
            memcpy(&flags, p + off + 4, 4);
            cpu = true;
        } else if (type == 9 && len >= 16) {
            memcpy(&id, p + off + 4, 4);
            memcpy(&flags, p + off + 8, 4);
            cpu = true;
        }
        bool seen = false;
        for (u32 i = 0; i < n; ++i) seen = seen || apic_ids[i] == id;
        if (cpu && (flags & 1) && !seen && n < max) apic_ids[n++] = id;
        off += len;
    }
    return n;
}

bool acpi_find_ecam(AcpiEcam* out) {
    Rsdp const* rsdp = find_rsdp();
    SdtHeader const* mcfg = rsdp ? find_table(rsdp, "MCFG") : nullptr;
    if (!mcfg) return false;
    u8 const* p = reinterpret_cast<u8 const*>(mcfg);
    for (u32 off = sizeof(SdtHeader) + 8; off + sizeof(McfgEntry) <= mcfg->length; off += sizeof(McfgEntry)) {
        McfgEntry e;
        memcpy(&e, p + off, sizeof e);
        if (e.segment != 0 || e.end_bus < e.start_bus || e.base == 0) continue;
        *out = AcpiEcam{e.base, e.start_bus, e.end_bus};
        return true;
    }
    return false;
}

bool acpi_copy_table(char const* sig, u8* buf, u32 cap, u32* len) {
    Rsdp const* rsdp = find_rsdp();
    SdtHeader const* t = rsdp ? find_table(rsdp, sig) : nullptr;
    if (!t || t->length > cap) return false;
    memcpy(buf, t, t->length);
    *len = t->length;
    return true;
}

bool acpi_hide_table(char const* sig, char const* renamed) {
    Rsdp const* rsdp = find_rsdp();
    SdtHeader const* t = rsdp ? find_table(rsdp, sig) : nullptr;
    if (!t) return false;
    auto* h = const_cast<SdtHeader*>(t);
    u8 const before = static_cast<u8>(h->signature[0] + h->signature[1] + h->signature[2] + h->signature[3]);
    memcpy(h->signature, renamed, 4);
    u8 const after = static_cast<u8>(renamed[0] + renamed[1] + renamed[2] + renamed[3]);
    h->checksum = static_cast<u8>(h->checksum + before - after);  // the byte sum stays zero
    return true;
}

}  // namespace tv
