// What every libFuzzer harness here shares: the input read as a stream of values (short reads
// are zero-filled, so any input is a valid script), and the check that turns a broken
// invariant into a crash libFuzzer records.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
