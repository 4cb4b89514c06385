// Where random bytes come from. The crypto code never picks a source itself: the disk tool
// passes getrandom(), the monitor RDRAND/RDSEED, tests a fixed generator.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

struct Random {
    // Fills n bytes at out; false if no entropy could be had (the caller then gives up).
    bool (*fill)(void* ctx, u8* out, u64 n);
    void* ctx;

    [[nodiscard]] bool operator()(u8* out, u64 n) const { return fill != nullptr && fill(ctx, out, n); }
};

}  // namespace tv::crypto
