// lwIP's system hooks and net_log() for the host tests: a fake clock, a deterministic
// random source, diagnostics to stderr and assertions that fail loudly.
#include <gtest/gtest.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "lwip/arch.h"
#include "lwip/sys.h"
#include "net/net_log.hpp"
#include "tests/unit/test_net_fake.hpp"

namespace tv::net {

namespace test {
u32 g_now_ms = 1000;
std::vector<std::string> g_net_log;
}  // namespace test

void net_log(char const* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    test::g_net_log.emplace_back(buf);
}

}  // namespace tv::net

extern "C" {

u32_t sys_now(void) { return tv::net::test::g_now_ms; }
sys_prot_t sys_arch_protect(void) { return 0; }
void sys_arch_unprotect(sys_prot_t) {}

unsigned int lwip_port_rand(void) {
    static unsigned int state = 12345;
    state = state * 1103515245u + 12345u;
    return state >> 8;
}

void lwip_port_diag(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void lwip_port_assert(const char* msg, const char* file, int line) {
    fprintf(stderr, "lwip assertion \"%s\" failed at %s:%d\n", msg, file, line);
    abort();
}

}  // extern "C"
