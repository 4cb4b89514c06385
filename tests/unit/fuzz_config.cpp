// libFuzzer target: thinvisor.conf (core/config*), the administrator's file, as arbitrary
// bytes. Checks: the parser never reads or writes out of bounds (ASan/UBSan); a refusal names
// a line inside the file and carries a terminated message; an accepted file gives a
// configuration within the schema's limits (counts, terminated strings, ordered ranges).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.hpp"

using namespace tv;

namespace {

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

bool terminated(char const* s, size_t cap) { return memchr(s, 0, cap) != nullptr; }

u32 lines_in(u8 const* data, size_t size) {
    u32 n = 1;
    for (size_t i = 0; i < size; ++i) n += data[i] == '\n';
    return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    // A private copy of exactly `size` bytes: the parser must not look past `len`.
    char* text = static_cast<char*>(malloc(size ? size : 1));
    if (size) memcpy(text, data, size);
    Config c;
    memset(&c, 0xA5, sizeof c);  // nothing may be taken from what was there before
    ConfigError err;
    memset(&err, 0xA5, sizeof err);
    if (!config_parse(text, size, &c, &err)) {
        check(terminated(err.message, sizeof err.message), "the error message is terminated");
        check(err.message[0] != 0, "the error says something");
        check(err.line <= lines_in(data, size), "the error names a line of the file");
        free(text);
        return 0;
    }
    check(c.disk_count <= Config::kMaxDisks, "at most kMaxDisks disks");
    for (u32 i = 0; i < c.disk_count; ++i) {
        DiskConfig const& d = c.disks[i];
        check(terminated(d.name, sizeof d.name) && terminated(d.serial, sizeof d.serial) &&
                  terminated(d.keyslots, sizeof d.keyslots),
              "disk strings are terminated");
        check(d.plaintext_count <= DiskConfig::kMaxPlainRanges, "at most kMaxPlainRanges plaintext ranges");
        for (u32 r = 0; r < d.plaintext_count; ++r)
            check(d.plaintext[r].first.raw <= d.plaintext[r].last.raw, "a plaintext range is FIRST <= LAST");
    }
    if (c.aoe.present) check(c.aoe.mtu > 0 && c.aoe.timeout_ms > 0, "AoE with a usable MTU and timeout");
    free(text);
    return 0;
}
