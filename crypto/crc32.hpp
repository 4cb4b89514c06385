// CRC-32 (IEEE 802.3, the zlib one): catches accidental corruption of the keyslot file and of
// the disk tool's journal. Not a defence against tampering; the keyed checks are.
#pragma once

#include "core/types.hpp"

namespace tv::crypto {

// crc32(b) == crc32_update(0, b); crc32_update(crc32_update(0, a), b) == crc32(a ++ b).
[[nodiscard]] u32 crc32_update(u32 crc, u8 const* data, u64 n);
[[nodiscard]] inline u32 crc32(u8 const* data, u64 n) { return crc32_update(0, data, n); }

}  // namespace tv::crypto
