#include "net/syslog_format.hpp"

#include <stdio.h>
#include <string.h>

namespace tv::net {

namespace {

bool starts_with(char const* line, size_t len, char const* prefix) {
    size_t const n = strlen(prefix);
    return len >= n && memcmp(line, prefix, n) == 0;
}

bool contains(char const* line, size_t len, char const* word) {
    size_t const n = strlen(word);
    for (size_t i = 0; i + n <= len; ++i)
        if (memcmp(line + i, word, n) == 0) return true;
    return false;
}

}  // namespace

// The monitor's lines carry no level; these prefixes and words are how its fatal and refusal
// messages read (panic(), refuse(), "... refused: ...").
Severity syslog_severity(char const* line, size_t len) {
    if (starts_with(line, len, "panic") || starts_with(line, len, "PANIC")) return Severity::Crit;
    if (starts_with(line, len, "thinvisor: refusing") || contains(line, len, "error")) return Severity::Err;
    if (contains(line, len, "refused") || contains(line, len, "refusing") || contains(line, len, "dropped"))
        return Severity::Warning;
    return Severity::Info;
}

size_t syslog_format(char* out, size_t cap, char const* hostname, u32 sequence, char const* line,
                     size_t len) {
    u32 const pri = kFacilityLocal0 * 8 + static_cast<u32>(syslog_severity(line, len));
    // RFC 5424 6.3.3: sequenceId runs 1..2147483647.
    u32 const seq = (sequence - 1) % 2147483647u + 1;
    int const n = snprintf(out, cap, "<%u>1 - %s thinvisor - - [meta sequenceId=\"%u\"] ", pri, hostname, seq);
    if (n < 0 || static_cast<size_t>(n) >= cap) return 0;
    size_t pos = static_cast<size_t>(n);
    for (size_t i = 0; i < len && pos < cap; ++i) {
        unsigned char const c = static_cast<unsigned char>(line[i]);
        if (c == '\n' || c == '\r') continue;
        out[pos++] = (c < 0x20 || c == 0x7F) ? '?' : static_cast<char>(c);
    }
    return pos;
}

}  // namespace tv::net
