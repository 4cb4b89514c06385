// Finds thinvisor.conf among the boot modules and parses it; a broken file stops the boot
// with its line number on the console (a monitor running on a half-understood
// configuration could leave a disk unencrypted).
#include "core/config_load.hpp"

#include <string.h>

#include "core/log.hpp"

namespace tv {

namespace {
constinit Config g_config{};
bool g_loaded;

// A module's name is its command line; the file is named by the last path component of
// the first word ("/boot/thinvisor.conf extra" -> "thinvisor.conf").
bool module_is(BootModule const& m, char const* file) {
    char const* end = m.name;
    while (*end && *end != ' ') ++end;
    char const* start = end;
    while (start > m.name && start[-1] != '/') --start;
    size_t n = strlen(file);
    return static_cast<size_t>(end - start) == n && memcmp(start, file, n) == 0;
}
}  // namespace

BootModule const* find_module(BootInfo const& bi, char const* file) {
    for (u32 i = 0; i < bi.module_count; ++i)
        if (module_is(bi.modules[i], file)) return &bi.modules[i];
    return nullptr;
}

bool config_load(BootInfo const& bi) {
    BootModule const* m = find_module(bi, "thinvisor.conf");
    if (!m) {
        log("config: no thinvisor.conf module; running with no disks, network or AoE configured");
        return true;
    }
    ConfigError err{};
    if (!config_parse(static_cast<char const*>(m->copy), m->end - m->start, &g_config, &err)) {
        if (err.line) console("thinvisor: thinvisor.conf line %u: %s", err.line, err.message);
        else console("thinvisor: thinvisor.conf: %s", err.message);
        return false;
    }
    g_loaded = true;
    log("config: thinvisor.conf loaded (%u disk(s)%s%s)", g_config.disk_count, g_config.aoe.present ? ", aoe" : "",
        g_config.network.present ? ", network" : "");
    return true;
}

Config const* config() { return g_loaded ? &g_config : nullptr; }

}  // namespace tv
