#include "core/insn/exec.hpp"

#include "core/insn/alu.hpp"

namespace tv::insn {

namespace {

constexpr u8 kRax = 0, kRcx = 1, kRsi = 6, kRdi = 7;

ExecStatus status_of(MemResult r) {
    return r == MemResult::Ok ? ExecStatus::Done : r == MemResult::Retry ? ExecStatus::Retry : ExecStatus::Failed;
}

void set_status_flags(Vcpu& v, u64 flags, u64 which) { v.set_rflags((v.rflags() & ~which) | (flags & which)); }

// The second operand of the two-operand forms: the immediate or the register.
u64 source(Insn const& i, Vcpu const& v) {
    return i.has_imm ? i.imm & size_mask(i.op_size) : read_gpr(v, i.reg, i.reg_high8, i.op_size);
}

ExecStatus load(Insn const& i, Vcpu& v, InsnMemory& mem, u64 off) {
    u64 val;
    MemResult const r = mem.read(i.mem.seg, off, i.mem_size, &val);
    if (r != MemResult::Ok) return status_of(r);
    if (i.kind == Kind::MovExtend && i.sign_extend) val = sign_extend_from(val, i.mem_size);
    write_gpr(v, i.reg, i.reg_high8, i.op_size, val);
    return ExecStatus::Done;
}

// ALU forms: memory op= source, or register op= memory (reg_is_dest). CMP stores nothing.
ExecStatus arith(Insn const& i, Vcpu& v, InsnMemory& mem, u64 off) {
    u64 m;
    MemResult r = mem.read(i.mem.seg, off, i.op_size, &m);
    if (r != MemResult::Ok) return status_of(r);
    u64 const src = source(i, v);
    u64 const a = i.reg_is_dest ? src : m, b = i.reg_is_dest ? m : src;
    AluResult const res = alu(i.alu, a, b, i.op_size, v.rflags());
    if (i.alu != AluOp::Cmp) {
        if (i.reg_is_dest) write_gpr(v, i.reg, i.reg_high8, i.op_size, res.value);
        else if ((r = mem.write(i.mem.seg, off, i.op_size, res.value)) != MemResult::Ok) return status_of(r);
    }
    set_status_flags(v, res.flags, kStatusFlags);
    return ExecStatus::Done;
}

ExecStatus test(Insn const& i, Vcpu& v, InsnMemory& mem, u64 off) {
    u64 m;
    MemResult const r = mem.read(i.mem.seg, off, i.op_size, &m);
    if (r != MemResult::Ok) return status_of(r);
    set_status_flags(v, alu(AluOp::And, m, source(i, v), i.op_size, 0).flags, kStatusFlags);
    return ExecStatus::Done;
}

ExecStatus xchg(Insn const& i, Vcpu& v, InsnMemory& mem, u64 off) {
    u64 m;
    MemResult r = mem.read(i.mem.seg, off, i.op_size, &m);
    if (r != MemResult::Ok) return status_of(r);
    if ((r = mem.write(i.mem.seg, off, i.op_size, source(i, v))) != MemResult::Ok) return status_of(r);
    write_gpr(v, i.reg, i.reg_high8, i.op_size, m);
    return ExecStatus::Done;
}

// BT: a register bit number addresses a bit string (signed, reaching beyond the operand);
// an immediate one is taken modulo the operand width. Only CF changes.
ExecStatus bt(Insn const& i, Vcpu& v, InsnMemory& mem, u64 off) {
    u64 const bits = 8u * i.op_size;
    u64 bit = i.imm & (bits - 1);
    if (!i.has_imm) {
        i64 const n = static_cast<i64>(sign_extend_from(read_gpr(v, i.reg, false, i.op_size), i.op_size));
        i64 const word = n >> (i.op_size == 2 ? 4 : i.op_size == 4 ? 5 : 6);  // floor division
        off = (off + static_cast<u64>(word) * i.op_size) & size_mask(i.addr_size);
        bit = static_cast<u64>(n) & (bits - 1);
    }
    u64 m;
    MemResult const r = mem.read(i.mem.seg, off, i.op_size, &m);
    if (r != MemResult::Ok) return status_of(r);
    set_status_flags(v, (m >> bit) & 1 ? kFlagCf : 0, kFlagCf);
    return ExecStatus::Done;
}

// One element of MOVS/STOS/LODS; rSI/rDI step by the element size, down when DF is set.
ExecStatus string_once(Insn const& i, Vcpu& v, InsnMemory& mem) {
    u8 const as = i.addr_size, sz = i.op_size;
    u64 const step = (v.rflags() & kFlagDf) ? 0 - static_cast<u64>(sz) : sz;
    u64 const si = read_gpr(v, kRsi, false, as), di = read_gpr(v, kRdi, false, as);
    u64 val = 0;
    MemResult r = MemResult::Ok;
    if (i.kind != Kind::Stos) r = mem.read(i.mem.seg, si, sz, &val);
    else val = read_gpr(v, kRax, false, sz);
    if (r == MemResult::Ok && i.kind != Kind::Lods) r = mem.write(SegReg::Es, di, sz, val);
    if (r != MemResult::Ok) return status_of(r);
    if (i.kind == Kind::Lods) write_gpr(v, kRax, false, sz, val);
    if (i.kind != Kind::Stos) write_gpr(v, kRsi, false, as, si + step);
    if (i.kind != Kind::Lods) write_gpr(v, kRdi, false, as, di + step);
    return ExecStatus::Done;
}

// rCX (as wide as the address) counts the elements of a REP string; it is updated after
// each element, so a stop at any point leaves the state the CPU would have.
ExecStatus string_op(Insn const& i, Vcpu& v, InsnMemory& mem, u32 max_iterations) {
    if (!i.rep) return string_once(i, v, mem);
    u64 count = read_gpr(v, kRcx, false, i.addr_size);
    for (u32 done = 0; count != 0; ++done) {
        if (done == max_iterations) return ExecStatus::Partial;
        ExecStatus const s = string_once(i, v, mem);
        if (s != ExecStatus::Done) return done ? (s == ExecStatus::Retry ? ExecStatus::Partial : s) : s;
        write_gpr(v, kRcx, false, i.addr_size, --count);
    }
    return ExecStatus::Done;
}

}  // namespace

u64 read_gpr(Vcpu const& v, u8 reg, bool high8, u8 size) {
    if (high8) return (v.reg(static_cast<Reg>(reg)) >> 8) & 0xFF;
    return v.reg(static_cast<Reg>(reg)) & size_mask(size);
}

void write_gpr(Vcpu& v, u8 reg, bool high8, u8 size, u64 value) {
    Reg const r = static_cast<Reg>(reg);
    u64 const old = v.reg(r);
    if (high8) v.set_reg(r, (old & ~0xFF00ull) | ((value & 0xFF) << 8));
    else if (size >= 4) v.set_reg(r, value & size_mask(size));
    else v.set_reg(r, (old & ~size_mask(size)) | (value & size_mask(size)));
}

u64 effective_offset(Insn const& i, Vcpu const& v) {
    MemOperand const& m = i.mem;
    u64 a = m.disp;
    if (m.base != kNoReg) a += v.reg(static_cast<Reg>(m.base));
    if (m.index != kNoReg) a += v.reg(static_cast<Reg>(m.index)) * m.scale;
    if (m.rip_relative) a += v.rip() + i.length;
    return a & size_mask(i.addr_size);
}

ExecStatus execute(Insn const& i, Vcpu& v, InsnMemory& mem, u32 max_iterations) {
    if (i.kind == Kind::Movs || i.kind == Kind::Stos || i.kind == Kind::Lods)
        return string_op(i, v, mem, max_iterations);
    u64 const off = effective_offset(i, v);
    switch (i.kind) {
        case Kind::MovStore:
        case Kind::MovImm:
            return status_of(mem.write(i.mem.seg, off, i.op_size, source(i, v)));
        case Kind::MovLoad:
        case Kind::MovExtend: return load(i, v, mem, off);
        case Kind::Alu: return arith(i, v, mem, off);
        case Kind::Test: return test(i, v, mem, off);
        case Kind::Xchg: return xchg(i, v, mem, off);
        case Kind::Bt: return bt(i, v, mem, off);
        default: return ExecStatus::Failed;
    }
}

}  // namespace tv::insn
