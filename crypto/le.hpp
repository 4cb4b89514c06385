// Little-endian integers for on-disk structures. They are byte arrays, so a struct built from
// them has alignment 1, no padding and the same layout on every host; get()/set() convert.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

template <typename T>
struct LeInt {
    u8 b[sizeof(T)];

    constexpr T get() const {
        T v = 0;
        for (unsigned i = 0; i < sizeof(T); ++i)
            v = static_cast<T>(v | static_cast<T>(static_cast<T>(b[i]) << (8 * i)));
        return v;
    }
    constexpr void set(T v) {
        for (unsigned i = 0; i < sizeof(T); ++i)
            b[i] = static_cast<u8>(v >> (8 * i));
    }
};

using Le16 = LeInt<u16>;
using Le32 = LeInt<u32>;
using Le64 = LeInt<u64>;
static_assert(sizeof(Le16) == 2 && sizeof(Le32) == 4 && sizeof(Le64) == 8);
static_assert(alignof(Le64) == 1);

}  // namespace tv::crypto
