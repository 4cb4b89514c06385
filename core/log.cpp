#include "core/log.hpp"

#include <stdarg.h>
#include <stdio.h>

#include "core/arch/x86/serial.hpp"
#include "core/log_ring.hpp"
#include "lib/spinlock.hpp"

namespace tv {

namespace {
constexpr u64 kRingSize = 64 * 1024;
char g_ring_storage[kRingSize];
LogRing g_ring;
SpinLock g_log_lock;
bool g_ready;
LogSink g_sink;

void emit(bool to_console, char const* fmt, va_list ap) {
    char line[512];
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    if (n < 0) return;
    size_t len = static_cast<size_t>(n) < sizeof line - 2 ? static_cast<size_t>(n) : sizeof line - 2;
    if (len == 0 || line[len - 1] != '\n') line[len++] = '\n';
    LockGuard guard(g_log_lock);
    if (g_ready) g_ring.write(line, len);
    if (g_sink) g_sink(line, len);
    char crlf_line[1100];
    size_t m = 0;
    for (size_t i = 0; i < len; ++i) {  // serial terminals want CR LF
        if (line[i] == '\n') crlf_line[m++] = '\r';
        crlf_line[m++] = line[i];
    }
    x86::serial_write(x86::kCom2, crlf_line, m);
    if (to_console) x86::serial_write(x86::kCom1, crlf_line, m);
}
}  // namespace

void log_init() {
    x86::serial_init(x86::kCom2);
    x86::serial_init(x86::kCom1);
    g_ring.init(g_ring_storage, kRingSize);
    g_ready = true;
}

LogRing const& log_ring() { return g_ring; }

u64 log_set_sink(LogSink sink) {
    LockGuard guard(g_log_lock);
    g_sink = sink;
    return g_ring.total_written();
}

void log(char const* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(false, fmt, ap);
    va_end(ap);
}

void console(char const* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(true, fmt, ap);
    va_end(ap);
}

}  // namespace tv
