// Basic types shared by every part of the monitor and by the host unit tests.
// Addresses of different spaces are distinct types so that a guest-physical address can
// never be passed where a host-physical one is expected.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace tv {

using u8 = uint8_t;
using u16 = uint16_t;
using u32 = uint32_t;
using u64 = uint64_t;
using i64 = int64_t;

inline constexpr u64 kPageSize = 4096;
inline constexpr u64 kLargePageSize = 2ull << 20;
inline constexpr u64 kHugePageSize = 1ull << 30;

struct Gpa {  // guest-physical
    u64 raw;
    constexpr bool operator==(Gpa const&) const = default;
};
struct Hpa {  // host-physical
    u64 raw;
    constexpr bool operator==(Hpa const&) const = default;
};
// A logical block address on a disk: the index of a data unit (512 or 4096 bytes) and, for
// XTS, the tweak. A run of sectors moves it forward; two of them give a distance in sectors.
// Never a byte offset or a count.
struct Lba {
    u64 raw;
    constexpr bool operator==(Lba const&) const = default;
    constexpr Lba operator+(u64 sectors) const { return Lba{raw + sectors}; }
    constexpr u64 operator-(Lba const& from) const { return raw - from.raw; }
};

enum class Status : u8 {
    Ok,
    NoMemory,
    Invalid,
    NotFound,
    Unsupported,
    Refused,
    Exists,
};

[[nodiscard]] constexpr bool ok(Status s) { return s == Status::Ok; }

constexpr u64 align_down(u64 v, u64 a) { return v & ~(a - 1); }
constexpr u64 align_up(u64 v, u64 a) { return (v + a - 1) & ~(a - 1); }
constexpr bool is_aligned(u64 v, u64 a) { return (v & (a - 1)) == 0; }

}  // namespace tv
