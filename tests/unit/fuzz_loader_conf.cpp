// libFuzzer target: the UEFI loader's loader.conf parser (boot/efi/loader_conf.c), as
// arbitrary bytes. Checks: no access out of bounds (ASan/UBSan, the text is a private copy of
// exactly the input); a refusal leaves a terminated message; an accepted file gives terminated
// fields, at most TV_CONF_MAX_MODULES modules, absolute paths, and next_options only with next.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/efi/loader_conf.h"

namespace {

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

bool terminated(char const* s, size_t cap) { return memchr(s, 0, cap) != nullptr; }
bool absolute(char const* p) { return p[0] == '\\' || p[0] == '/'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(unsigned char const* data, size_t size) {
    char* text = static_cast<char*>(malloc(size ? size : 1));
    if (size) memcpy(text, data, size);
    static tv_loader_conf conf;
    memset(&conf, 0xA5, sizeof conf);
    // The error buffer's size comes from the input too: the parser must respect any size.
    size_t const err_len = size ? data[0] % (TV_CONF_ERROR_LEN + 1) : TV_CONF_ERROR_LEN;
    char* err = static_cast<char*>(malloc(err_len ? err_len : 1));
    if (!tv_conf_parse(text, size, &conf, err, err_len)) {
        if (err_len) check(terminated(err, err_len), "the error message is terminated");
    } else {
        check(terminated(conf.monitor, sizeof conf.monitor) && absolute(conf.monitor), "monitor is an absolute path");
        check(terminated(conf.cmdline, sizeof conf.cmdline), "cmdline is terminated");
        check(conf.module_count <= TV_CONF_MAX_MODULES, "at most TV_CONF_MAX_MODULES modules");
        for (unsigned i = 0; i < conf.module_count; ++i) {
            check(terminated(conf.modules[i], sizeof conf.modules[i]) && absolute(conf.modules[i]),
                  "a module is an absolute path");
            check(strlen(tv_conf_basename(conf.modules[i])) < TV_CONF_PATH_LEN, "a module has a base name");
        }
        check(terminated(conf.next, sizeof conf.next), "next is terminated");
        check(terminated(conf.next_options, sizeof conf.next_options), "next_options is terminated");
        check(conf.next[0] || !conf.next_options[0], "next_options only with next");
        if (conf.next[0]) check(absolute(conf.next), "next is an absolute path");
    }
    free(err);
    free(text);
    return 0;
}
