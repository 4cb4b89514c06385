#include "core/log_limit.hpp"

#include <string.h>

namespace tv {

namespace {

void copy(char* dst, char const* src, size_t cap) {
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

bool same(char const* kept, char const* text, size_t cap) { return strncmp(kept, text, cap - 1) == 0; }

}  // namespace

bool LogLimiter::note(char const* device, char const* cause) {
    LockGuard g(lock_);
    for (u32 i = 0; i < used_; ++i) {
        Entry& e = entries_[i];
        if (same(e.device, device, kDeviceChars) && same(e.cause, cause, kCauseChars))
            return ++e.count <= kLinesPerCause;
    }
    if (used_ == kCauses) return ++overflow_ <= kLinesPerCause;
    Entry& e = entries_[used_++];
    copy(e.device, device, kDeviceChars);
    copy(e.cause, cause, kCauseChars);
    e.count = 1;
    return true;
}

void LogLimiter::each_cut(void (*out)(Cut const&, void*), void* arg) const {
    LockGuard g(lock_);
    for (u32 i = 0; i < used_; ++i)
        if (entries_[i].count > kLinesPerCause) out(Cut{entries_[i].device, entries_[i].cause, entries_[i].count}, arg);
    if (overflow_ > kLinesPerCause) out(Cut{"(other devices)", "(causes beyond the table)", overflow_}, arg);
}

}  // namespace tv
