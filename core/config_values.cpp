#include "core/config_values.hpp"

namespace tv::cfg {

Span trim(Span s) {
    while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) ++s.p, --s.n;
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t' || s.p[s.n - 1] == '\r')) --s.n;
    return s;
}

bool parse_u64(Span s, u64 max, u64* out) {
    if (s.n == 0 || s.n > 20) return false;
    u64 v = 0;
    bool hex = s.n > 2 && s.p[0] == '0' && (s.p[1] == 'x' || s.p[1] == 'X');
    for (size_t i = hex ? 2 : 0; i < s.n; ++i) {
        char c = s.p[i];
        u64 d;
        if (c >= '0' && c <= '9') d = static_cast<u64>(c - '0');
        else if (hex && c >= 'a' && c <= 'f') d = static_cast<u64>(c - 'a' + 10);
        else if (hex && c >= 'A' && c <= 'F') d = static_cast<u64>(c - 'A' + 10);
        else return false;
        u64 base = hex ? 16 : 10;
        if (v > (max - d) / base) return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

bool parse_bool(Span s, bool* out) {
    if (s.is("yes") || s.is("true") || s.is("on")) return *out = true, true;
    if (s.is("no") || s.is("false") || s.is("off")) return *out = false, true;
    return false;
}

bool parse_ipv4(Span s, Ipv4* out) {
    u32 v = 0;
    size_t start = 0;
    for (int part = 0; part < 4; ++part) {
        size_t end = start;
        while (end < s.n && s.p[end] != '.') ++end;
        u64 octet;
        if (!parse_u64(Span{s.p + start, end - start}, 255, &octet) || (part < 3) != (end < s.n)) return false;
        v = (v << 8) | static_cast<u32>(octet);
        start = end + 1;
    }
    out->be = __builtin_bswap32(v);
    return true;
}

bool parse_mac(Span s, MacAddr* out) {
    if (s.n != 17) return false;
    for (int i = 0; i < 6; ++i) {
        if (i < 5 && s.p[i * 3 + 2] != ':') return false;
        u64 b;
        char hex[5] = {'0', 'x', s.p[i * 3], s.p[i * 3 + 1], 0};
        if (!parse_u64(Span{hex, 4}, 255, &b)) return false;
        out->b[i] = static_cast<u8>(b);
    }
    return true;
}

bool copy_string(Span s, char* dst, size_t cap) {
    if (s.n == 0 || s.n >= cap) return false;
    for (size_t i = 0; i < s.n; ++i)
        if (s.p[i] < 0x20 || s.p[i] > 0x7E) return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = 0;
    return true;
}

bool parse_range(Span s, LbaRange* out) {
    size_t dash = 0;
    while (dash < s.n && s.p[dash] != '-') ++dash;
    if (dash == s.n) return false;
    return parse_u64(trim(Span{s.p, dash}), ~0ull, &out->first.raw) &&
           parse_u64(trim(Span{s.p + dash + 1, s.n - dash - 1}), ~0ull, &out->last.raw) &&
           out->first.raw <= out->last.raw;
}

}  // namespace tv::cfg
