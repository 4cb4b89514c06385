#include "crypto/crc32.hpp"

namespace tv::crypto {

namespace {

struct Table {
    u32 v[256];
};

// Built by the compiler: a freestanding image has no static constructors to fill it at run time.
constexpr Table make_table() {
    Table t{};
    for (u32 i = 0; i < 256; ++i) {
        u32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t.v[i] = c;
    }
    return t;
}

constexpr Table kTable = make_table();

}  // namespace

u32 crc32_update(u32 crc, u8 const* data, u64 n) {
    crc = ~crc;
    for (u64 i = 0; i < n; ++i)
        crc = kTable.v[(crc ^ data[i]) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

}  // namespace tv::crypto
