// The config tests' one way to parse a thinvisor.conf text: its outcome, the parsed Config and
// the error (line and reason) side by side.
#pragma once

#include <string>

#include "core/config.hpp"

namespace tv::test_config {

struct Result {
    bool ok;
    Config cfg;
    ConfigError err;
};

inline Result parse(std::string const& text) {
    Result r{};
    r.ok = config_parse(text.data(), text.size(), &r.cfg, &r.err);
    return r;
}

}  // namespace tv::test_config
