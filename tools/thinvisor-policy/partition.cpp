// IMAGE[:N]: the byte offset of partition N from the image's MBR or GPT, and which reader
// a volume needs.
#include <stdio.h>
#include <string.h>

#include "tools/thinvisor-policy/resolve.hpp"

namespace tv::policytool {

namespace {

bool read_at(std::string const& image, u64 off, void* buf, size_t n) {
    FILE* f = fopen(image.c_str(), "rb");
    if (!f) return false;
    bool good = fseeko(f, static_cast<off_t>(off), SEEK_SET) == 0 && fread(buf, 1, n, f) == n;
    fclose(f);
    return good;
}

u64 le(u8 const* p, int n) {
    u64 v = 0;
    for (int i = n - 1; i >= 0; --i) v = v << 8 | p[i];
    return v;
}

// GPT (protective MBR type 0xEE) with 512-byte sectors: entry N's first LBA.
bool gpt_start(std::string const& image, unsigned n, u64& start) {
    u8 h[92];
    if (!read_at(image, 512, h, sizeof h) || memcmp(h, "EFI PART", 8) != 0) return false;
    u64 const entries = le(h + 72, 8), count = le(h + 80, 4), size = le(h + 84, 4);
    if (n > count || size < 128 || size > 4096) return false;
    u8 e[128];
    if (!read_at(image, entries * 512 + (n - 1) * size, e, sizeof e)) return false;
    static u8 const zero[16] = {};
    if (memcmp(e, zero, 16) == 0) return false;  // an unused entry
    start = le(e + 32, 8) * 512;
    return true;
}

}  // namespace

bool open_volume(std::string const& spec, Volume& out, std::string& err) {
    size_t const colon = spec.rfind(':');
    out = Volume{spec, 0};
    if (colon == std::string::npos || spec.find_first_not_of("0123456789", colon + 1) != std::string::npos ||
        colon + 1 == spec.size()) {
        u8 b;
        if (!read_at(spec, 0, &b, 1)) return err = spec + ": cannot read", false;
        return true;
    }
    out.image = spec.substr(0, colon);
    unsigned const n = static_cast<unsigned>(std::stoul(spec.substr(colon + 1)));
    u8 mbr[512];
    if (!read_at(out.image, 0, mbr, sizeof mbr) || mbr[510] != 0x55 || mbr[511] != 0xAA)
        return err = out.image + ": no partition table", false;
    if (mbr[446 + 4] == 0xEE) {
        if (gpt_start(out.image, n, out.offset) && n >= 1) return true;
        return err = out.image + ": no GPT partition " + std::to_string(n), false;
    }
    if (n < 1 || n > 4 || mbr[446 + (n - 1) * 16 + 4] == 0)
        return err = out.image + ": no primary MBR partition " + std::to_string(n), false;
    out.offset = le(mbr + 446 + (n - 1) * 16 + 8, 4) * 512;
    return true;
}

std::string detect_fs(Volume const& v) {
    u8 sb[2];
    if (read_at(v.image, v.offset + 1024 + 56, sb, 2) && sb[0] == 0x53 && sb[1] == 0xEF) return "ext4";
    u8 boot[512];
    if (read_at(v.image, v.offset, boot, sizeof boot) && boot[510] == 0x55 && boot[511] == 0xAA &&
        (memcmp(boot + 54, "FAT", 3) == 0 || memcmp(boot + 82, "FAT32", 5) == 0))
        return "fat";
    return "";
}

}  // namespace tv::policytool
