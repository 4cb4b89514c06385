// A decoder for the x86 instructions drivers use on memory-mapped device registers. On SVM
// without decode assists and on EPT violations the CPU does not say which instruction
// touched a hooked page or how long it was, so the monitor decodes it itself.
//
// Covered, memory forms only (a register-only form never touches MMIO):
//   MOV 88/89/8A/8B, C6/C7 /0, A0-A3 (moffs); MOVZX/MOVSX 0F B6/B7/BE/BF; MOVSXD 63 (64-bit);
//   MOVS/STOS/LODS A4/A5/AA/AB/AC/AD with or without REP;
//   ADD/OR/ADC/SBB/AND/SUB/XOR/CMP 00-3B (r/m forms), 80/81/83 (and 82 outside 64-bit mode);
//   TEST 84/85, F6/F7 /0; XCHG 86/87; BT 0F A3, 0F BA /4.
// Prefixes: 66, 67, F2, F3, F0, the six segment overrides and REX (64-bit mode).
// Pure, with no opcode tables (only the eight base/index pairs of 16-bit addressing):
// host-tested against the host CPU and GNU objdump, and fuzzed.
#pragma once

#include <stddef.h>

#include "core/types.hpp"
#include "core/vcpu.hpp"

namespace tv::insn {

inline constexpr u8 kMaxLength = 15;  // longer is #GP on the CPU
inline constexpr u8 kNoReg = 0xFF;

enum class CpuMode : u8 { Bits16, Bits32, Bits64 };

// The mode code runs in, from CR0.PE, EFER.LMA, RFLAGS.VM and the code segment's L and D
// bits (SVM-style attributes: L = bit 9, D/B = bit 10).
CpuMode cpu_mode(u64 cr0, u64 efer, u64 rflags, u16 cs_attr);

enum class Kind : u8 {
    MovStore,   // [m] <- reg (88/89, A2/A3)
    MovLoad,    // reg <- [m] (8A/8B, A0/A1)
    MovImm,     // [m] <- imm (C6/C7)
    MovExtend,  // reg <- zero/sign-extended [m] (0F B6/B7/BE/BF, 63)
    Alu,        // [m] op= reg|imm, or reg op= [m]; CMP only sets flags
    Test,       // flags of [m] & reg|imm
    Xchg,       // [m] <-> reg
    Bt,         // CF <- bit of [m]
    Movs,       // [ES:rDI] <- [seg:rSI]
    Stos,       // [ES:rDI] <- rAX
    Lods,       // rAX <- [seg:rSI]
};

enum class AluOp : u8 { Add, Or, Adc, Sbb, And, Sub, Xor, Cmp };  // the ModRM /digit order

struct MemOperand {
    SegReg seg;         // after overrides; for strings the source segment (ES for STOS's only operand)
    u8 base;            // GPR number or kNoReg
    u8 index;           // GPR number or kNoReg
    u8 scale;           // 1, 2, 4 or 8
    bool rip_relative;  // displacement from the next instruction
    u64 disp;           // sign-extended displacement, or the moffs offset
};

struct Insn {
    Kind kind;
    AluOp alu;            // Kind::Alu
    u8 length;            // bytes, prefixes included
    u8 op_size;           // width of the operation: 1, 2, 4 or 8
    u8 mem_size;          // width of the memory access (the source width for MovExtend)
    u8 addr_size;         // 2, 4 or 8
    bool reg_is_dest;     // Alu 02/03/0A/0B... forms: the register is written, memory read
    bool sign_extend;     // MovExtend: MOVSX/MOVSXD rather than MOVZX
    bool has_imm;         // the second operand is imm, not reg
    u64 imm;              // sign-extended to 64 bits (zero-extended for BT's bit number)
    u8 reg;               // register operand: GPR number (0-15); with reg_high8, 0-3 = AH-BH
    bool reg_high8;       // AH/CH/DH/BH (a byte register without REX)
    bool rep;             // F2/F3 on a string instruction
    bool lock;
    MemOperand mem;
};

enum class DecodeStatus : u8 {
    Ok,
    Truncated,        // needs more bytes than were given (fewer than 15)
    Unsupported,      // a valid instruction outside the subset
    Invalid,          // #UD or #GP on the CPU: longer than 15 bytes, LOCK where not allowed...
    RegisterOperand,  // a covered opcode in its register-only form
};

char const* decode_status_name(DecodeStatus s);

// Decodes the instruction at bytes[0..n). out is valid only for Ok.
[[nodiscard]] DecodeStatus decode(u8 const* bytes, size_t n, CpuMode mode, Insn* out);

}  // namespace tv::insn
