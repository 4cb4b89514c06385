#include "core/insn/alu.hpp"

namespace tv::insn {

namespace {

u64 parity_flag(u64 r) {  // PF: the low byte has an even number of ones
    u64 x = r & 0xFF;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    return (x & 1) ? 0 : kFlagPf;
}

}  // namespace

AluResult alu(AluOp op, u64 a, u64 b, u8 bytes, u64 rflags) {
    u64 const m = size_mask(bytes);
    unsigned const top = 8u * bytes - 1;
    a &= m;
    b &= m;
    u64 const carry_in = (op == AluOp::Adc || op == AluOp::Sbb) ? (rflags & kFlagCf) : 0;
    u64 r = 0, cf = 0, of = 0, af = 0;
    switch (op) {
        case AluOp::Add:
        case AluOp::Adc:
            r = (a + b + carry_in) & m;
            cf = r < a || (carry_in && r == a);  // operands are below 2^bits: no double wrap
            of = ((a ^ r) & (b ^ r)) >> top & 1;
            af = (a ^ b ^ r) & 0x10;
            break;
        case AluOp::Sub:
        case AluOp::Sbb:
        case AluOp::Cmp:
            r = (a - b - carry_in) & m;
            cf = a < b || (carry_in && a == b);
            of = ((a ^ b) & (a ^ r)) >> top & 1;
            af = (a ^ b ^ r) & 0x10;
            break;
        case AluOp::And: r = a & b; break;
        case AluOp::Or: r = a | b; break;
        case AluOp::Xor: r = a ^ b; break;
    }
    u64 flags = (cf ? kFlagCf : 0) | parity_flag(r) | (af ? kFlagAf : 0) | (r == 0 ? kFlagZf : 0) |
                ((r >> top) & 1 ? kFlagSf : 0) | (of ? kFlagOf : 0);
    return AluResult{r, flags};
}

}  // namespace tv::insn
