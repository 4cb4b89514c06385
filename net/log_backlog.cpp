#include "net/log_backlog.hpp"

#include <string.h>

namespace tv::net {

void LogBacklog::push(char const* line, size_t len) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) --len;
    if (len == 0) return;
    if (size() == kSlots) {
        ++dropped_;
        return;
    }
    if (len > kLineMax) {
        len = kLineMax;
        ++truncated_;
    }
    Slot& s = slots_[tail_ % kSlots];
    memcpy(s.text, line, len);
    s.len = static_cast<u16>(len);
    __atomic_store_n(&tail_, tail_ + 1, __ATOMIC_RELEASE);
}

char const* LogBacklog::front(size_t* len) const {
    Slot const& s = slots_[head_ % kSlots];
    *len = s.len;
    return s.text;
}

void LogBacklog::pop() {
    if (!empty()) __atomic_store_n(&head_, head_ + 1, __ATOMIC_RELEASE);
}

}  // namespace tv::net
