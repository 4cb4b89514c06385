// Value syntax of thinvisor.conf: strict parsers that accept exactly one spelling each.
#pragma once

#include <string.h>

#include "core/config.hpp"

namespace tv::cfg {

struct Span {
    char const* p;
    size_t n;
    bool is(char const* s) const { return strlen(s) == n && memcmp(p, s, n) == 0; }
};

Span trim(Span s);
[[nodiscard]] bool parse_u64(Span s, u64 max, u64* out);  // decimal or 0x hex, no overflow
[[nodiscard]] bool parse_bool(Span s, bool* out);         // yes/no, true/false, on/off
[[nodiscard]] bool parse_ipv4(Span s, Ipv4* out);         // dotted quad
[[nodiscard]] bool parse_mac(Span s, MacAddr* out);       // aa:bb:cc:dd:ee:ff
[[nodiscard]] bool parse_range(Span s, LbaRange* out);    // FIRST-LAST, inclusive
[[nodiscard]] bool copy_string(Span s, char* dst, size_t cap);  // printable ASCII, non-empty
// [pci] allow_dma: a space-separated list of BB:DD.F and VVVV:DDDD (hex), appended to cfg->pci
// (core/config_pci.cpp).
[[nodiscard]] bool parse_pci_allow(Span s, Config* cfg);

}  // namespace tv::cfg
