// The monitor's one LogLimiter and its power-off summary (core/log_limit.hpp).
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"

namespace tv {

namespace {

constinit LogLimiter g_limiter;
constinit bool g_installed = false;

void summary_line(LogLimiter::Cut const& c, void*) {
    log("log: %s: %s: %llu times, %llu not logged (at most %u lines per device and cause)", c.device, c.cause,
        static_cast<unsigned long long>(c.total),
        static_cast<unsigned long long>(c.total - LogLimiter::kLinesPerCause), LogLimiter::kLinesPerCause);
}

void summary() { g_limiter.each_cut(summary_line, nullptr); }

}  // namespace

bool log_limit_allow(char const* device, char const* cause) { return g_limiter.note(device, cause); }

void log_limit_install() {
    if (g_installed) return;
    g_installed = true;
    if (!power_off_log_register(summary)) log("log: no room in the power-off log for the rate limit's summary");
}

}  // namespace tv
