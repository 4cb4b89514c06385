// What every libFuzzer harness here shares: the input read as a stream of values (short reads
// are zero-filled, so any input is a valid script), and the check that turns a broken
// invariant into a crash libFuzzer records.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/types.hpp"

struct Input {
    tv::u8 const* p;
    size_t n;
    template <class T>
    T take() {
        T v{};
        size_t const k = n < sizeof v ? n : sizeof v;
        memcpy(&v, p, k);
        p += k;
        n -= k;
        return v;
    }
};

inline void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

// Zeroes a buffer the harness resets before every input. A large one (a model of guest RAM,
// the monitor's DMA memory) is mostly untouched by any one input, and a memset of all of it
// was most of some harnesses' time: its whole pages are handed back to the kernel instead
// (madvise MADV_DONTNEED: the next touch of a private anonymous page, which all heap memory
// is, reads zeros), so a reset costs a page fault per page the input used. The contents are
// exactly those of a memset.
inline void zero_fill(void* buf, size_t n) {
    constexpr uintptr_t kPage = 4096;
    auto* p = static_cast<tv::u8*>(buf);
    uintptr_t const a = reinterpret_cast<uintptr_t>(p), e = a + n;
    uintptr_t const first = (a + kPage - 1) & ~(kPage - 1), last = e & ~(kPage - 1);
    if (n < 16 * kPage || last <= first ||
        madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED) != 0) {
        memset(p, 0, n);
        return;
    }
    memset(p, 0, first - a);
    memset(reinterpret_cast<tv::u8*>(last), 0, e - last);
}
