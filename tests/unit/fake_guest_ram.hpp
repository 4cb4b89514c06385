// What the disk fakes share: guest RAM with the monitor's hidden range inside it, and the
// log lines a mediator writes, kept so a test can look for one.
#pragma once

#include <stdarg.h>
#include <stdio.h>

#include <string>
#include <vector>

#include "core/types.hpp"

namespace fakes {

// [0, ram_end) is guest RAM except [hidden_base, hidden_end), the monitor's.
inline bool in_guest_ram(tv::u64 gpa, tv::u64 bytes, tv::u64 ram_end, tv::u64 hidden_base, tv::u64 hidden_end) {
    tv::u64 const end = gpa + bytes;
    return bytes && end > gpa && end <= ram_end && (end <= hidden_base || gpa >= hidden_end);
}

struct LogLines {
    std::vector<std::string> logs;

    void add(char const* fmt, va_list ap) {
        char line[256];
        vsnprintf(line, sizeof line, fmt, ap);
        logs.emplace_back(line);
    }
    bool logged(char const* needle) const {
        for (auto const& l : logs)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

}  // namespace fakes
