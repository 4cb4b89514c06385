// thinvisor.conf [pci]: the functions the administrator lets keep bus mastering although no
// mediator owns them (drivers/pci/bus_master.hpp). Kept apart from config.cpp's sections so
// the schema's one entry is the only hunk there.
#include "core/config_values.hpp"

namespace tv::cfg {

namespace {

// Exactly `n` hex digits, no prefix.
bool hex_digits(char const* p, size_t n, u32* out) {
    u32 v = 0;
    for (size_t i = 0; i < n; ++i) {
        char const c = p[i];
        u32 d;
        if (c >= '0' && c <= '9') d = static_cast<u32>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<u32>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = static_cast<u32>(c - 'A' + 10);
        else return false;
        v = v << 4 | d;
    }
    *out = v;
    return true;
}

// One entry: BB:DD.F (a function's address) or VVVV:DDDD (its IDs).
bool parse_entry(Span s, PciDmaAllow* out) {
    u32 a, b, c;
    if (s.n == 7 && s.p[2] == ':' && s.p[5] == '.') {
        if (!hex_digits(s.p, 2, &a) || !hex_digits(s.p + 3, 2, &b) || !hex_digits(s.p + 6, 1, &c) || b > 31 || c > 7)
            return false;
        *out = PciDmaAllow{false, static_cast<u8>(a), static_cast<u8>(b), static_cast<u8>(c), 0, 0};
        return true;
    }
    if (s.n == 9 && s.p[4] == ':') {
        if (!hex_digits(s.p, 4, &a) || !hex_digits(s.p + 5, 4, &b) || a == 0xFFFF) return false;
        *out = PciDmaAllow{true, 0, 0, 0, static_cast<u16>(a), static_cast<u16>(b)};
        return true;
    }
    return false;
}

}  // namespace

bool parse_pci_allow(Span s, Config* cfg) {
    auto& pci = cfg->pci;
    size_t i = 0;
    bool any = false;
    while (i < s.n) {
        while (i < s.n && (s.p[i] == ' ' || s.p[i] == '\t')) ++i;
        size_t end = i;
        while (end < s.n && s.p[end] != ' ' && s.p[end] != '\t') ++end;
        if (end == i) break;
        if (pci.allow_count == Config::kMaxDmaAllow) return false;
        if (!parse_entry(Span{s.p + i, end - i}, &pci.allow[pci.allow_count])) return false;
        ++pci.allow_count;
        any = true;
        i = end;
    }
    return any;
}

}  // namespace tv::cfg
