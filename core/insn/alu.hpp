// The arithmetic of the emulated instructions: results and status flags computed the way
// the CPU computes them (host tests compare against the host CPU executing the same
// instruction).
#pragma once

#include "core/insn/decoder.hpp"
#include "core/types.hpp"

namespace tv::insn {

inline constexpr u64 kFlagCf = 1ull << 0;
inline constexpr u64 kFlagPf = 1ull << 2;
inline constexpr u64 kFlagAf = 1ull << 4;
inline constexpr u64 kFlagZf = 1ull << 6;
inline constexpr u64 kFlagSf = 1ull << 7;
inline constexpr u64 kFlagDf = 1ull << 10;
inline constexpr u64 kFlagOf = 1ull << 11;
inline constexpr u64 kStatusFlags = kFlagCf | kFlagPf | kFlagAf | kFlagZf | kFlagSf | kFlagOf;

constexpr u64 size_mask(u8 bytes) { return bytes >= 8 ? ~0ull : (1ull << (8 * bytes)) - 1; }
constexpr u64 sign_extend_from(u64 v, u8 bytes) {
    if (bytes >= 8) return v;
    u8 const shift = static_cast<u8>(64 - 8 * bytes);
    return static_cast<u64>(static_cast<i64>(v << shift) >> shift);
}

struct AluResult {
    u64 value;  // truncated to the operation size
    u64 flags;  // the six status flags; AND/OR/XOR clear CF, OF and AF
};

// a op b on `bytes`-wide operands; rflags supplies the carry for ADC and SBB. CMP computes
// what SUB would (the caller does not store it).
AluResult alu(AluOp op, u64 a, u64 b, u8 bytes, u64 rflags);

}  // namespace tv::insn
