#include "core/boot_info.hpp"

#include <string.h>

#include "core/layout.hpp"
#include "crypto/secure_zero.hpp"

namespace tv {

namespace {
constinit BootInfo g_boot;

constexpr u32 kMultibootLoaderMagic = 0x2BADB002;
constexpr u32 kFlagCmdline = 1u << 2;
constexpr u32 kFlagMods = 1u << 3;
constexpr u32 kFlagMmap = 1u << 6;

struct __attribute__((packed)) MbInfo {
    u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
};
static_assert(sizeof(MbInfo) == 52);

struct __attribute__((packed)) MbModule {
    u32 start, end, string, reserved;
};
static_assert(sizeof(MbModule) == 16);

struct __attribute__((packed)) MbMmapEntry {
    u32 size;
    u64 base, length;
    u32 type;
};
static_assert(sizeof(MbMmapEntry) == 24);

template <typename T>
T const* at_phys(u64 phys) {
    return reinterpret_cast<T const*>(phys);
}

void copy_string(char* dst, size_t n, u64 phys) {
    char const* s = at_phys<char>(phys);
    size_t i = 0;
    for (; i + 1 < n && s[i]; ++i) dst[i] = s[i];
    dst[i] = 0;
}

}  // namespace

MemType e820_memtype(u32 t) {
    switch (t) {
        case 1: return MemType::Usable;
        case 3: return MemType::AcpiReclaim;
        case 4: return MemType::AcpiNvs;
        case 5: return MemType::Unusable;
        default: return MemType::Reserved;  // unknown types must never become guest-usable RAM
    }
}

BootInfo& boot_info() { return g_boot; }

bool parse_multiboot(u32 magic, u64 mbi_phys, BootInfo* out, char const** why) {
    if (magic != kMultibootLoaderMagic) {
        *why = "not started by a multiboot loader (bad magic in EAX)";
        return false;
    }
    MbInfo const* mbi = at_phys<MbInfo>(mbi_phys);
    out->mbi_phys = mbi_phys;
    out->mbi_len = sizeof(MbInfo);
    if (!(mbi->flags & kFlagMmap) || mbi->mmap_length == 0) {
        *why = "the boot loader gave no memory map";
        return false;
    }
    out->firmware_map.clear();
    for (u64 off = 0; off + sizeof(MbMmapEntry) <= mbi->mmap_length;) {
        auto const* e = at_phys<MbMmapEntry>(mbi->mmap_addr + off);
        if (e->length && !ok(out->firmware_map.add(e->base, e->length, e820_memtype(e->type)))) {
            *why = "the firmware memory map has too many entries";
            return false;
        }
        off += e->size + 4u;
    }
    out->firmware_map.normalize();
    out->cmdline[0] = 0;
    if (mbi->flags & kFlagCmdline) copy_string(out->cmdline, sizeof out->cmdline, mbi->cmdline);
    out->module_count = 0;
    if (mbi->flags & kFlagMods) {
        if (mbi->mods_count > BootInfo::kMaxModules) {
            *why = "too many boot modules (at most 8)";
            return false;
        }
        for (u32 i = 0; i < mbi->mods_count; ++i) {
            auto const* m = at_phys<MbModule>(mbi->mods_addr + i * sizeof(MbModule));
            BootModule& bm = out->modules[out->module_count++];
            bm.start = m->start;
            bm.end = m->end;
            bm.copy = nullptr;
            if (m->string) copy_string(bm.name, sizeof bm.name, m->string);
            else bm.name[0] = 0;
        }
    }
    return true;
}

bool wipe_module_original(BootModule const& m) {
    MonitorRegion const& r = monitor_region();
    if (m.end <= m.start || !(m.end <= r.base || m.start >= r.base + r.size)) return false;
    crypto::secure_zero(phys_to_virt(m.start), m.end - m.start);
    return true;
}

char const* cmdline_value(char const* key, char* buf, size_t n) {
    size_t klen = strlen(key);
    char const* p = g_boot.cmdline;
    while (*p) {
        while (*p == ' ') ++p;
        char const* word = p;
        while (*p && *p != ' ') ++p;
        if (static_cast<size_t>(p - word) > klen && strncmp(word, key, klen) == 0 && word[klen] == '=') {
            size_t vlen = static_cast<size_t>(p - word) - klen - 1;
            if (vlen >= n) vlen = n - 1;
            memcpy(buf, word + klen + 1, vlen);
            buf[vlen] = 0;
            return buf;
        }
    }
    return nullptr;
}

}  // namespace tv
