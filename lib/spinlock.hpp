// A ticket-free test-and-set spinlock; the monitor runs with interrupts off, so a plain
// spinlock is enough. Recursive variant for newlib's malloc lock (malloc may re-enter).
#pragma once

#include "core/types.hpp"

namespace tv {

class SpinLock {
  public:
    void lock() {
        while (__atomic_test_and_set(&locked_, __ATOMIC_ACQUIRE))
            while (__atomic_load_n(&locked_, __ATOMIC_RELAXED)) asm volatile("pause");
    }
    void unlock() { __atomic_clear(&locked_, __ATOMIC_RELEASE); }
    bool held() const { return __atomic_load_n(&locked_, __ATOMIC_RELAXED); }  // for checks and tests

  private:
    bool locked_ = false;
};

class LockGuard {
  public:
    explicit LockGuard(SpinLock& l) : lock_(l) { lock_.lock(); }
    ~LockGuard() { lock_.unlock(); }
    LockGuard(LockGuard const&) = delete;
    LockGuard& operator=(LockGuard const&) = delete;

  private:
    SpinLock& lock_;
};

// Owner is a small CPU number + 1 (0 = free).
class RecursiveLock {
  public:
    void lock(u32 cpu) {
        if (__atomic_load_n(&owner_, __ATOMIC_RELAXED) == cpu + 1) {
            ++depth_;
            return;
        }
        inner_.lock();
        __atomic_store_n(&owner_, cpu + 1, __ATOMIC_RELAXED);
        depth_ = 1;
    }
    void unlock() {
        if (--depth_ == 0) {
            __atomic_store_n(&owner_, 0u, __ATOMIC_RELAXED);
            inner_.unlock();
        }
    }
    bool held() const { return inner_.held(); }  // by any CPU: for checks and tests

  private:
    SpinLock inner_;
    u32 owner_ = 0;
    u32 depth_ = 0;
};

}  // namespace tv
