// The monitor's log: a byte ring over caller-provided storage. Every byte has an absolute
// offset (how many bytes were written before it), so a reader such as the guest's log tool
// (hypercalls TV_HC_LOG_STATE and TV_HC_LOG_READ) can resume where it stopped and can tell
// when it fell behind. Not thread-safe: the owner wraps it in a lock.
#pragma once

#include "core/types.hpp"

namespace tv {

class LogRing {
  public:
    // capacity must be a power of two (so offsets map to slots with a mask); anything else
    // is rounded down to one. Capacity 0 keeps nothing but still counts bytes.
    void init(char* storage, u64 capacity);

    void write(char const* s, u64 n);  // the oldest bytes make room

    u64 capacity() const { return mask_ + (storage_ ? 1 : 0); }
    u64 total_written() const { return total_; }
    u64 oldest() const { return total_ > capacity() ? total_ - capacity() : 0; }

    // Copies the held bytes at absolute offsets [offset, offset + n) to out and returns how
    // many: fewer than n at the end of the log, 0 if offset is overwritten or not written yet.
    [[nodiscard]] u64 read(u64 offset, char* out, u64 n) const;

  private:
    char* storage_{nullptr};  // null when the capacity is 0
    u64 mask_{0};
    u64 total_{0};
};

}  // namespace tv
