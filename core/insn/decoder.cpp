#include "core/insn/decoder.hpp"

namespace tv::insn {

namespace {

constexpr u64 kCr0Pe = 1ull << 0;
constexpr u64 kEferLma = 1ull << 10;
constexpr u64 kRflagsVm = 1ull << 17;
constexpr u16 kAttrL = 1u << 9;
constexpr u16 kAttrDb = 1u << 10;

constexpr u8 kRsp = 4, kRbp = 5, kRbx = 3, kRsi = 6, kRdi = 7;

constexpr u64 sign_extend(u64 v, u8 bytes) {
    u8 const shift = static_cast<u8>(64 - 8 * bytes);
    return bytes >= 8 ? v : static_cast<u64>(static_cast<i64>(v << shift) >> shift);
}

constexpr bool ran_out(DecodeStatus s) { return s == DecodeStatus::Truncated || s == DecodeStatus::Invalid; }

// The bytes being decoded. Running out is recorded rather than fatal, so that the caller
// can tell "give me more bytes" (Truncated) from "no CPU would accept this" (Invalid).
class Cursor {
  public:
    Cursor(u8 const* p, size_t n) : p_(p), n_(n) {}

    [[nodiscard]] bool take(u8* b) {
        if (pos_ >= kMaxLength) return fail(DecodeStatus::Invalid);
        if (pos_ >= n_) return fail(DecodeStatus::Truncated);
        *b = p_[pos_++];
        return true;
    }
    // Little-endian, `bytes` long, sign-extended to 64 bits when `sign`.
    [[nodiscard]] bool take_le(u8 bytes, bool sign, u64* v) {
        u64 r = 0;
        for (u8 i = 0; i < bytes; ++i) {
            u8 b;
            if (!take(&b)) return false;
            r |= static_cast<u64>(b) << (8 * i);
        }
        *v = sign ? sign_extend(r, bytes) : r;
        return true;
    }
    u8 pos() const { return static_cast<u8>(pos_); }
    DecodeStatus failure() const { return failure_; }

  private:
    bool fail(DecodeStatus s) {
        failure_ = s;
        return false;
    }
    u8 const* p_;
    size_t n_;
    size_t pos_{0};
    DecodeStatus failure_{DecodeStatus::Ok};
};

struct Prefixes {
    u8 rex;  // 0x40-0x4F in 64-bit mode, else 0
    bool opsize, addrsize, lock, rep;
    bool has_seg;
    SegReg seg;
};

class Decoder {
  public:
    Decoder(u8 const* bytes, size_t n, CpuMode mode, Insn* out) : c_(bytes, n), mode_(mode), out_(out) {}
    DecodeStatus run();

  private:
    bool rex_w() const { return (px_.rex & 8) != 0; }
    u8 op_size(bool byte) const;
    u8 addr_size() const;
    [[nodiscard]] bool prefixes(u8* opcode);
    DecodeStatus fail() const { return c_.failure(); }
    DecodeStatus one_byte(u8 op);
    DecodeStatus two_byte();
    DecodeStatus modrm(bool byte, u8* digit);
    DecodeStatus mem16(u8 mod, u8 rm);
    DecodeStatus mem32(u8 mod, u8 rm);
    DecodeStatus imm(u8 bytes);
    DecodeStatus alu_rm(u8 op);
    DecodeStatus alu_imm(u8 op);
    DecodeStatus plain(Kind kind, bool byte, bool reg_is_dest);
    DecodeStatus mov_imm(u8 op);
    DecodeStatus test_imm(u8 op);
    DecodeStatus moffs(u8 op);
    DecodeStatus string(Kind kind, bool byte);
    DecodeStatus extend(bool sign, u8 mem_size);
    DecodeStatus bt(bool with_imm);
    DecodeStatus finish();

    Cursor c_;
    CpuMode mode_;
    Insn* out_;
    Prefixes px_{};
};

u8 Decoder::op_size(bool byte) const {
    if (byte) return 1;
    if (rex_w()) return 8;
    bool const wide = mode_ != CpuMode::Bits16;
    return wide != px_.opsize ? 4 : 2;
}

u8 Decoder::addr_size() const {
    if (mode_ == CpuMode::Bits64) return px_.addrsize ? 4 : 8;
    bool const wide = mode_ == CpuMode::Bits32;
    return wide != px_.addrsize ? 4 : 2;
}

// Legacy prefixes in any order and number; in 64-bit mode a REX byte counts only when the
// opcode follows it directly.
bool Decoder::prefixes(u8* opcode) {
    for (;;) {
        u8 b;
        if (!c_.take(&b)) return false;
        bool legacy = true;
        switch (b) {
            case 0x66: px_.opsize = true; break;
            case 0x67: px_.addrsize = true; break;
            case 0xF0: px_.lock = true; break;
            case 0xF2:
            case 0xF3: px_.rep = true; break;
            case 0x26: px_.seg = SegReg::Es; px_.has_seg = true; break;
            case 0x2E: px_.seg = SegReg::Cs; px_.has_seg = true; break;
            case 0x36: px_.seg = SegReg::Ss; px_.has_seg = true; break;
            case 0x3E: px_.seg = SegReg::Ds; px_.has_seg = true; break;
            case 0x64: px_.seg = SegReg::Fs; px_.has_seg = true; break;
            case 0x65: px_.seg = SegReg::Gs; px_.has_seg = true; break;
            default: legacy = false; break;
        }
        if (legacy) {
            px_.rex = 0;
            continue;
        }
        if (mode_ == CpuMode::Bits64 && (b & 0xF0) == 0x40) {
            px_.rex = b;
            continue;
        }
        *opcode = b;
        return true;
    }
}

// 16-bit addressing: the eight fixed base/index pairs of the ModRM byte.
DecodeStatus Decoder::mem16(u8 mod, u8 rm) {
    static constexpr u8 kBase[8] = {kRbx, kRbx, kRbp, kRbp, kRsi, kRdi, kRbp, kRbx};
    static constexpr u8 kIndex[8] = {kRsi, kRdi, kRsi, kRdi, kNoReg, kNoReg, kNoReg, kNoReg};
    MemOperand& m = out_->mem;
    bool const disp_only = mod == 0 && rm == 6;
    m.base = disp_only ? kNoReg : kBase[rm];
    m.index = disp_only ? kNoReg : kIndex[rm];
    u8 const disp = mod == 1 ? 1 : (mod == 2 || disp_only) ? 2 : 0;
    if (disp && !c_.take_le(disp, true, &m.disp)) return fail();
    m.seg = m.base == kRbp ? SegReg::Ss : SegReg::Ds;
    return DecodeStatus::Ok;
}

// 32/64-bit addressing: SIB byte, RIP-relative form, REX.X/REX.B extensions.
DecodeStatus Decoder::mem32(u8 mod, u8 rm) {
    MemOperand& m = out_->mem;
    u8 const rex_b = static_cast<u8>((px_.rex & 1) << 3);
    u8 const rex_x = static_cast<u8>((px_.rex & 2) << 2);
    bool no_base = false;
    if (rm == 4) {
        u8 sib;
        if (!c_.take(&sib)) return fail();
        u8 const index = static_cast<u8>(((sib >> 3) & 7) | rex_x);
        if (index != kRsp) {  // "no index"; with REX.X the same bits name R12
            m.index = index;
            m.scale = static_cast<u8>(1u << (sib >> 6));
        }
        no_base = (sib & 7) == 5 && mod == 0;
        if (!no_base) m.base = static_cast<u8>((sib & 7) | rex_b);
    } else if (rm == 5 && mod == 0) {
        no_base = true;
        m.rip_relative = mode_ == CpuMode::Bits64;
    } else {
        m.base = static_cast<u8>(rm | rex_b);
    }
    u8 const disp = mod == 1 ? 1 : (mod == 2 || no_base) ? 4 : 0;
    if (disp && !c_.take_le(disp, true, &m.disp)) return fail();
    m.seg = (m.base == kRsp || m.base == kRbp) ? SegReg::Ss : SegReg::Ds;
    return DecodeStatus::Ok;
}

// ModRM (and SIB/displacement): the register operand or /digit, and the memory operand.
DecodeStatus Decoder::modrm(bool byte, u8* digit) {
    u8 b;
    if (!c_.take(&b)) return fail();
    u8 const mod = b >> 6, reg = (b >> 3) & 7, rm = b & 7;
    *digit = reg;
    out_->reg = static_cast<u8>(reg | ((px_.rex & 4) << 1));
    if (byte && px_.rex == 0 && reg >= 4) {  // AH, CH, DH, BH
        out_->reg = static_cast<u8>(reg - 4);
        out_->reg_high8 = true;
    }
    if (mod == 3) return DecodeStatus::RegisterOperand;
    out_->mem = MemOperand{SegReg::Ds, kNoReg, kNoReg, 1, false, 0};
    DecodeStatus const s = out_->addr_size == 2 ? mem16(mod, rm) : mem32(mod, rm);
    if (s == DecodeStatus::Ok && px_.has_seg) out_->mem.seg = px_.seg;
    return s;
}

// An immediate of `bytes` (imm32 for 64-bit operations), sign-extended.
DecodeStatus Decoder::imm(u8 bytes) {
    out_->has_imm = true;
    return c_.take_le(bytes > 4 ? 4 : bytes, true, &out_->imm) ? DecodeStatus::Ok : fail();
}

DecodeStatus Decoder::plain(Kind kind, bool byte, bool reg_is_dest) {
    out_->kind = kind;
    out_->op_size = out_->mem_size = op_size(byte);
    out_->reg_is_dest = reg_is_dest;
    u8 digit = 0;
    return modrm(byte, &digit);
}

DecodeStatus Decoder::alu_rm(u8 op) {
    out_->alu = static_cast<AluOp>(op >> 3);
    return plain(Kind::Alu, (op & 1) == 0, (op & 2) != 0);
}

DecodeStatus Decoder::alu_imm(u8 op) {
    if (op == 0x82 && mode_ == CpuMode::Bits64) return DecodeStatus::Invalid;
    bool const byte = op == 0x80 || op == 0x82;
    out_->kind = Kind::Alu;
    out_->op_size = out_->mem_size = op_size(byte);
    u8 digit = 0;
    DecodeStatus const s = modrm(byte, &digit);
    if (s != DecodeStatus::Ok) return s;
    out_->alu = static_cast<AluOp>(digit);
    return imm(op == 0x81 ? out_->op_size : 1);
}

DecodeStatus Decoder::mov_imm(u8 op) {
    out_->kind = Kind::MovImm;
    out_->op_size = out_->mem_size = op_size(op == 0xC6);
    u8 digit = 0;
    DecodeStatus const s = modrm(op == 0xC6, &digit);
    if (ran_out(s)) return s;
    if (digit != 0) return DecodeStatus::Unsupported;  // XABORT/XBEGIN live here
    return s != DecodeStatus::Ok ? s : imm(out_->op_size);
}

DecodeStatus Decoder::test_imm(u8 op) {
    out_->kind = Kind::Test;
    out_->op_size = out_->mem_size = op_size(op == 0xF6);
    u8 digit = 0;
    DecodeStatus const s = modrm(op == 0xF6, &digit);
    if (ran_out(s)) return s;
    if (digit != 0) return DecodeStatus::Unsupported;  // NOT, NEG, MUL, DIV...
    return s != DecodeStatus::Ok ? s : imm(out_->op_size);
}

// A0-A3: the accumulator and a direct offset as wide as the address size.
DecodeStatus Decoder::moffs(u8 op) {
    bool const byte = (op & 1) == 0;
    out_->kind = op < 0xA2 ? Kind::MovLoad : Kind::MovStore;
    out_->op_size = out_->mem_size = op_size(byte);
    out_->reg = 0;
    out_->mem = MemOperand{px_.has_seg ? px_.seg : SegReg::Ds, kNoReg, kNoReg, 1, false, 0};
    return c_.take_le(out_->addr_size, false, &out_->mem.disp) ? DecodeStatus::Ok : fail();
}

DecodeStatus Decoder::string(Kind kind, bool byte) {
    out_->kind = kind;
    out_->op_size = out_->mem_size = op_size(byte);
    out_->reg = 0;
    out_->rep = px_.rep;
    SegReg const src = px_.has_seg ? px_.seg : SegReg::Ds;
    out_->mem = MemOperand{kind == Kind::Stos ? SegReg::Es : src, kNoReg, kNoReg, 1, false, 0};
    return DecodeStatus::Ok;
}

DecodeStatus Decoder::extend(bool sign, u8 mem_size) {
    out_->kind = Kind::MovExtend;
    out_->op_size = op_size(false);
    out_->mem_size = mem_size < out_->op_size ? mem_size : out_->op_size;
    out_->sign_extend = sign;
    out_->reg_is_dest = true;
    u8 digit = 0;
    return modrm(false, &digit);
}

DecodeStatus Decoder::bt(bool with_imm) {
    out_->kind = Kind::Bt;
    out_->op_size = out_->mem_size = op_size(false);
    u8 digit = 0;
    DecodeStatus const s = modrm(false, &digit);
    if (!with_imm || ran_out(s)) return s;
    if (digit < 4) return DecodeStatus::Invalid;
    if (digit > 4) return DecodeStatus::Unsupported;  // BTS, BTR, BTC
    if (s != DecodeStatus::Ok) return s;
    out_->has_imm = true;
    return c_.take_le(1, false, &out_->imm) ? DecodeStatus::Ok : fail();
}

DecodeStatus Decoder::two_byte() {
    u8 op;
    if (!c_.take(&op)) return fail();
    switch (op) {
        case 0xB6: return extend(false, 1);
        case 0xB7: return extend(false, 2);
        case 0xBE: return extend(true, 1);
        case 0xBF: return extend(true, 2);
        case 0xA3: return bt(false);
        case 0xBA: return bt(true);
        default: return DecodeStatus::Unsupported;
    }
}

DecodeStatus Decoder::one_byte(u8 op) {
    if (op < 0x40 && (op & 7) < 4) return alu_rm(op);
    switch (op) {
        case 0x0F: return two_byte();
        case 0x63:  // MOVSXD in 64-bit mode; ARPL elsewhere
            return mode_ == CpuMode::Bits64 ? extend(true, 4) : DecodeStatus::Unsupported;
        case 0x80: case 0x81: case 0x82: case 0x83: return alu_imm(op);
        case 0x84: case 0x85: return plain(Kind::Test, op == 0x84, false);
        case 0x86: case 0x87: return plain(Kind::Xchg, op == 0x86, false);
        case 0x88: case 0x89: return plain(Kind::MovStore, op == 0x88, false);
        case 0x8A: case 0x8B: return plain(Kind::MovLoad, op == 0x8A, true);
        case 0xA0: case 0xA1: case 0xA2: case 0xA3: return moffs(op);
        case 0xA4: case 0xA5: return string(Kind::Movs, op == 0xA4);
        case 0xAA: case 0xAB: return string(Kind::Stos, op == 0xAA);
        case 0xAC: case 0xAD: return string(Kind::Lods, op == 0xAC);
        case 0xC6: case 0xC7: return mov_imm(op);
        case 0xF6: case 0xF7: return test_imm(op);
        default: return DecodeStatus::Unsupported;
    }
}

// LOCK is legal only on a read-modify-write of memory: it raises #UD on everything else.
DecodeStatus Decoder::finish() {
    Insn& i = *out_;
    bool const rmw = (i.kind == Kind::Alu && i.alu != AluOp::Cmp && !i.reg_is_dest) || i.kind == Kind::Xchg;
    if (i.lock && !rmw) return DecodeStatus::Invalid;
    i.length = c_.pos();
    return DecodeStatus::Ok;
}

DecodeStatus Decoder::run() {
    *out_ = Insn{};
    u8 op;
    if (!prefixes(&op)) return fail();
    out_->lock = px_.lock;
    out_->addr_size = addr_size();
    DecodeStatus const s = one_byte(op);
    return s == DecodeStatus::Ok ? finish() : s;
}

}  // namespace

CpuMode cpu_mode(u64 cr0, u64 efer, u64 rflags, u16 cs_attr) {
    if (!(cr0 & kCr0Pe) || (rflags & kRflagsVm)) return CpuMode::Bits16;
    if ((efer & kEferLma) && (cs_attr & kAttrL)) return CpuMode::Bits64;
    return (cs_attr & kAttrDb) ? CpuMode::Bits32 : CpuMode::Bits16;
}

char const* decode_status_name(DecodeStatus s) {
    switch (s) {
        case DecodeStatus::Ok: return "ok";
        case DecodeStatus::Truncated: return "truncated";
        case DecodeStatus::Unsupported: return "unsupported";
        case DecodeStatus::Invalid: return "invalid";
        case DecodeStatus::RegisterOperand: return "register operand";
    }
    return "?";
}

DecodeStatus decode(u8 const* bytes, size_t n, CpuMode mode, Insn* out) {
    return Decoder{bytes, n, mode, out}.run();
}

}  // namespace tv::insn
