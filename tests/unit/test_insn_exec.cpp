// The executor against the host CPU: each case is encoded once, run natively on a host
// buffer (registers and flags loaded from a state block, the bytes copied between a small
// entry and exit stub in an executable page) and emulated on a copy of that buffer; the
// general registers, the defined flags and the buffers must come out equal.
#include <gtest/gtest.h>
#include <string.h>
#include <sys/mman.h>

#include <random>
#include <vector>

#include "core/insn/alu.hpp"
#include "core/insn/decoder.hpp"
#include "core/insn/exec.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::insn;

// ---- the native side ----------------------------------------------------------------------

struct NativeState {
    u64 gpr[16];
    u64 rflags;
};
static_assert(sizeof(NativeState) == 136);

// Entry loads every register but RSP from the state block (pointer in RDI), exit stores them
// back; the instruction under test sits between them. Both stubs address only through RSP
// and the state pointer, so they run from any address.
asm(R"(
    .text
    .globl tv_native_enter, tv_native_enter_end, tv_native_leave, tv_native_leave_end
tv_native_enter:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi
    pushq 128(%rdi)
    popfq
    mov 0(%rdi), %rax
    mov 8(%rdi), %rcx
    mov 16(%rdi), %rdx
    mov 24(%rdi), %rbx
    mov 40(%rdi), %rbp
    mov 48(%rdi), %rsi
    mov 64(%rdi), %r8
    mov 72(%rdi), %r9
    mov 80(%rdi), %r10
    mov 88(%rdi), %r11
    mov 96(%rdi), %r12
    mov 104(%rdi), %r13
    mov 112(%rdi), %r14
    mov 120(%rdi), %r15
    mov 56(%rdi), %rdi
tv_native_enter_end:
tv_native_leave:
    push %rdi
    mov 8(%rsp), %rdi
    mov %rax, 0(%rdi)
    mov %rcx, 8(%rdi)
    mov %rdx, 16(%rdi)
    mov %rbx, 24(%rdi)
    mov %rbp, 40(%rdi)
    mov %rsi, 48(%rdi)
    mov %r8, 64(%rdi)
    mov %r9, 72(%rdi)
    mov %r10, 80(%rdi)
    mov %r11, 88(%rdi)
    mov %r12, 96(%rdi)
    mov %r13, 104(%rdi)
    mov %r14, 112(%rdi)
    mov %r15, 120(%rdi)
    pop %rax
    mov %rax, 56(%rdi)
    pushfq
    pop %rax
    mov %rax, 128(%rdi)
    cld
    pop %rdi
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret
tv_native_leave_end:
)");
extern "C" char tv_native_enter[], tv_native_enter_end[], tv_native_leave[], tv_native_leave_end[];

namespace {

constexpr size_t kBuf = 8192;
constexpr u64 kTestedFlags = kStatusFlags | kFlagDf;

class Native {
  public:
    Native() {
        code_ = static_cast<u8*>(mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
        // Below 4 GiB, so that 32-bit address-size forms can reach it.
        buf_ = static_cast<u8*>(mmap(nullptr, kBuf, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0));
    }
    ~Native() {
        munmap(code_, 4096);
        munmap(buf_, kBuf);
    }
    bool ok() const { return code_ != MAP_FAILED && buf_ != MAP_FAILED; }
    u8* buf() { return buf_; }

    void run(std::vector<u8> const& insn, NativeState* s) {
        size_t const a = static_cast<size_t>(tv_native_enter_end - tv_native_enter);
        size_t const b = static_cast<size_t>(tv_native_leave_end - tv_native_leave);
        memcpy(code_, tv_native_enter, a);
        memcpy(code_ + a, insn.data(), insn.size());
        memcpy(code_ + a + insn.size(), tv_native_leave, b);
        __builtin___clear_cache(reinterpret_cast<char*>(code_), reinterpret_cast<char*>(code_ + 4096));
        reinterpret_cast<void (*)(NativeState*)>(code_)(s);
    }

  private:
    u8* code_;
    u8* buf_;
};

// The emulator's memory: offsets are host addresses inside the native buffer, redirected to
// the emulator's own copy of it.
class CopyMemory final : public InsnMemory {
  public:
    CopyMemory(u8 const* native, u8* copy) : native_(reinterpret_cast<u64>(native)), copy_(copy) {}
    MemResult read(SegReg, u64 off, u8 size, u64* v) override {
        if (!inside(off, size)) return MemResult::Failed;
        *v = 0;
        memcpy(v, copy_ + (off - native_), size);
        ++accesses;
        return MemResult::Ok;
    }
    MemResult write(SegReg, u64 off, u8 size, u64 v) override {
        if (!inside(off, size)) return MemResult::Failed;
        memcpy(copy_ + (off - native_), &v, size);
        ++accesses;
        return MemResult::Ok;
    }
    int accesses = 0;

  private:
    bool inside(u64 off, u8 size) const { return off >= native_ && off + size <= native_ + kBuf; }
    u64 native_;
    u8* copy_;
};

// One case: bytes, starting registers (RSP is neither loaded nor compared) and flags.
struct Case {
    std::vector<u8> bytes;
    NativeState state;
    u64 flags_checked;  // status flags defined for this instruction
};

class NativeCompare : public ::testing::Test {
  protected:
    void SetUp() override { ASSERT_TRUE(n_.ok()); }

    // Runs c natively and emulated from the same buffer contents; reports every difference.
    void check(Case const& c, char const* what) {
        std::vector<u8> before(n_.buf(), n_.buf() + kBuf);
        std::vector<u8> copy = before;
        NativeState native = c.state;
        n_.run(c.bytes, &native);

        Insn insn{};
        ASSERT_EQ(decode(c.bytes.data(), c.bytes.size(), CpuMode::Bits64, &insn), DecodeStatus::Ok) << what << dump(c);
        ASSERT_EQ(insn.length, c.bytes.size()) << what << dump(c);
        test::FakeVcpu v;
        for (u8 r = 0; r < 16; ++r) v.set_reg(static_cast<Reg>(r), c.state.gpr[r]);
        v.rflags_ = c.state.rflags;
        CopyMemory mem{n_.buf(), copy.data()};
        ASSERT_EQ(execute(insn, v, mem), ExecStatus::Done) << what << dump(c);
        EXPECT_GT(mem.accesses, 0) << what;

        for (u8 r = 0; r < 16; ++r) {
            if (r == 4) continue;
            EXPECT_EQ(v.reg(static_cast<Reg>(r)), native.gpr[r]) << what << ": register " << int(r) << dump(c);
        }
        u64 const mask = c.flags_checked | kFlagDf;
        EXPECT_EQ(v.rflags_ & mask, native.rflags & mask) << what << ": flags" << dump(c);
        EXPECT_EQ(memcmp(copy.data(), n_.buf(), kBuf), 0) << what << ": memory" << dump(c);
        memcpy(n_.buf(), before.data(), kBuf);  // the next case starts from the same contents
    }

    static std::string dump(Case const& c) {
        std::string s = " [bytes";
        char b[8];
        for (u8 x : c.bytes) {
            snprintf(b, sizeof b, " %02x", x);
            s += b;
        }
        return s + "]";
    }

    u64 random_flags() { return 2 | (rng_() & kTestedFlags & ~kFlagDf); }
    void fill_random() {
        for (size_t i = 0; i < kBuf; ++i) n_.buf()[i] = static_cast<u8>(rng_());
    }
    NativeState random_state() {
        NativeState s{};
        for (auto& r : s.gpr) r = rng_();
        s.rflags = random_flags();
        return s;
    }

    Native n_;
    std::mt19937_64 rng_{12345};
};

// ---- an encoder for the memory operands the cases use ------------------------------------

struct Addressing {
    u8 base, index, scale_log;  // index 4 = none (RSP cannot be an index)
    int32_t disp;
    u8 disp_size;               // 0, 1 or 4
};

// Appends ModRM (+SIB, +displacement) for `reg` and the memory operand; returns the REX bits
// R, X and B it needs.
u8 encode_mem(std::vector<u8>& out, u8 reg, Addressing const& a) {
    u8 rex = static_cast<u8>(((reg >> 3) & 1) << 2 | ((a.index >> 3) & 1) << 1 | ((a.base >> 3) & 1));
    u8 disp_size = a.disp_size;
    if (disp_size == 0 && (a.base & 7) == 5) disp_size = 1;  // RBP/R13 need a displacement
    u8 const mod = disp_size == 0 ? 0 : disp_size == 1 ? 1 : 2;
    bool const sib = (a.base & 7) == 4 || a.index != 4;
    out.push_back(static_cast<u8>(mod << 6 | (reg & 7) << 3 | (sib ? 4 : (a.base & 7))));
    if (sib) out.push_back(static_cast<u8>(a.scale_log << 6 | (a.index & 7) << 3 | (a.base & 7)));
    for (u8 i = 0; i < disp_size; ++i) out.push_back(static_cast<u8>(static_cast<u32>(a.disp) >> (8 * i)));
    return rex;
}

// Instruction = [66] [REX] opcode... ModRM..., with REX.W for 8-byte operations, and the
// registers of the memory operand pointed into the buffer.
struct Form {
    std::vector<u8> opcode;
    u8 size;    // operation size
    u8 digit;   // /digit, or 0xFF when the reg field is a register operand
    u8 imm;     // immediate bytes
};

class Generator {
  public:
    Generator(std::mt19937_64& rng, u8* buf) : rng_(rng), buf_(reinterpret_cast<u64>(buf)) {}

    // A random addressing form over registers other than RSP; base + index * scale + disp
    // lands at least 16 bytes inside the buffer.
    Case make(Form const& f, u64 flags_checked) {
        Case c{};
        for (auto& r : c.state.gpr) r = rng_();
        c.state.rflags = 2 | (rng_() & kStatusFlags);
        c.flags_checked = flags_checked;
        Addressing a = random_addressing();
        if (a.index == a.base) a.index = 4;
        bool const force_rex = f.size == 1 && (rng_() & 1);  // SPL..DIL instead of AH..BH
        bool const mem_rex = a.base >= 8 || (a.index != 4 && a.index >= 8);
        u8 const reg = f.digit != 0xFF ? f.digit : pick_reg(f.size == 1 && !force_rex && !mem_rex);
        u64 target = buf_ + 64 + rng_() % (kBuf - 128);
        // XCHG locks the bus: a locked access across a cache line is a "split lock", which
        // the host kernel may punish with a delay per access.
        if (f.opcode[0] == 0x86 || f.opcode[0] == 0x87) target &= ~u64{f.size - 1u};
        u64 const index_val = a.index == 4 ? 0 : rng_() % 64;
        if (a.index != 4) c.state.gpr[a.index] = index_val;
        c.state.gpr[a.base] = target - static_cast<u64>(static_cast<i64>(a.disp)) - (index_val << a.scale_log);
        std::vector<u8> tail;
        u8 rex = encode_mem(tail, reg, a);
        if (f.size == 8) rex |= 8;
        if (f.size == 2) c.bytes.push_back(0x66);
        if (rex || force_rex) c.bytes.push_back(static_cast<u8>(0x40 | rex));
        c.bytes.insert(c.bytes.end(), f.opcode.begin(), f.opcode.end());
        c.bytes.insert(c.bytes.end(), tail.begin(), tail.end());
        for (u8 i = 0; i < f.imm; ++i) c.bytes.push_back(static_cast<u8>(rng_()));
        return c;
    }

  private:
    // Any register but RSP; number 4 is allowed when it means AH (a byte register, no REX).
    u8 pick_reg(bool four_is_ah) {
        for (;;) {
            u8 r = static_cast<u8>(rng_() % 16);
            if (r != 4 || four_is_ah) return r;
        }
    }
    Addressing random_addressing() {
        Addressing a{};
        do a.base = static_cast<u8>(rng_() % 16);
        while (a.base == 4);
        a.index = 4;
        if (rng_() % 2) {
            do a.index = static_cast<u8>(rng_() % 16);
            while (a.index == 4);
            a.scale_log = static_cast<u8>(rng_() % 4);
        }
        static constexpr u8 kDisp[3] = {0, 1, 4};
        a.disp_size = kDisp[rng_() % 3];
        a.disp = a.disp_size == 1 ? static_cast<int8_t>(rng_()) : a.disp_size == 4 ? static_cast<int32_t>(rng_() % 4096) - 2048 : 0;
        return a;
    }

    std::mt19937_64& rng_;
    u64 buf_;
};

constexpr u8 kAllSizes[] = {1, 2, 4, 8};
constexpr u8 kWideSizes[] = {2, 4, 8};
constexpr u8 kExtendOps[] = {0xB6, 0xB7, 0xBE, 0xBF};
constexpr u8 kStringOps[] = {0xA4, 0xA5, 0xAA, 0xAB, 0xAC, 0xAD};
constexpr u64 kAllArith = kStatusFlags;
constexpr u64 kLogic = kStatusFlags & ~kFlagAf;  // AF is undefined after AND/OR/XOR/TEST

}  // namespace

TEST_F(NativeCompare, MovesMatchTheCpuForEverySizeAndAddressingForm) {
    fill_random();
    Generator g{rng_, n_.buf()};
    for (u8 size : kAllSizes) {
        u8 const w = size == 1 ? 0 : 1;
        std::vector<Form> forms = {
            {{static_cast<u8>(0x88 | w)}, size, 0xFF, 0},  // store
            {{static_cast<u8>(0x8A | w)}, size, 0xFF, 0},  // load
            {{static_cast<u8>(0xC6 | w)}, size, 0, static_cast<u8>(size == 1 ? 1 : size == 2 ? 2 : 4)},
            {{static_cast<u8>(0x86 | w)}, size, 0xFF, 0},  // xchg
        };
        for (auto const& f : forms)
            for (int k = 0; k < 200; ++k) check(g.make(f, kStatusFlags), "mov/xchg");
    }
}

TEST_F(NativeCompare, ZeroAndSignExtendingLoadsMatchTheCpu) {
    fill_random();
    Generator g{rng_, n_.buf()};
    for (u8 size : kWideSizes)
        for (u8 op : kExtendOps)
            for (int k = 0; k < 100; ++k) check(g.make({{0x0F, op}, size, 0xFF, 0}, kStatusFlags), "movzx/movsx");
    for (int k = 0; k < 100; ++k) check(g.make({{0x63}, 8, 0xFF, 0}, kStatusFlags), "movsxd");
    for (int k = 0; k < 100; ++k) check(g.make({{0x63}, 4, 0xFF, 0}, kStatusFlags), "movsxd without REX.W");
}

TEST_F(NativeCompare, ArithmeticAndLogicOnMemoryMatchTheCpuFlags) {
    fill_random();
    Generator g{rng_, n_.buf()};
    for (u8 op = 0; op < 8; ++op) {
        u64 const flags = (op == 1 || op == 4 || op == 6) ? kLogic : kAllArith;
        for (u8 size : kAllSizes) {
            u8 const w = size == 1 ? 0 : 1;
            u8 const imm = size == 1 ? 1 : size == 2 ? 2 : 4;
            std::vector<Form> forms = {
                {{static_cast<u8>(op << 3 | w)}, size, 0xFF, 0},      // [m] op= reg
                {{static_cast<u8>(op << 3 | 2 | w)}, size, 0xFF, 0},  // reg op= [m]
                {{static_cast<u8>(0x80 | w)}, size, op, imm},         // [m] op= imm
            };
            if (size > 1) forms.push_back({{0x83}, size, op, 1});  // [m] op= sign-extended imm8
            for (auto const& f : forms)
                for (int k = 0; k < 150; ++k) check(g.make(f, flags), "alu");
        }
    }
}

TEST_F(NativeCompare, SmallOperandsHitEveryCarryAndOverflowCorner) {
    // Values near the sign and carry boundaries, where the flag formulas usually go wrong.
    static constexpr u64 kCorner[] = {0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000,
                                      0xFFFFFFFF, 0x7FFFFFFFFFFFFFFF, 0x8000000000000000, ~0ull};
    u8* buf = n_.buf();
    for (u8 op = 0; op < 8; ++op)
        for (u8 size : kAllSizes)
            for (u64 a : kCorner)
                for (u64 b : kCorner)
                    for (u64 cf : {0ull, 1ull}) {
                        memcpy(buf + 256, &a, 8);
                        Case c{};
                        c.state.gpr[7] = reinterpret_cast<u64>(buf + 256);  // RDI
                        c.state.gpr[0] = b;                                 // RAX
                        c.state.rflags = 2 | cf;
                        c.flags_checked = (op == 1 || op == 4 || op == 6) ? kLogic : kAllArith;
                        if (size == 2) c.bytes.push_back(0x66);
                        if (size == 8) c.bytes.push_back(0x48);
                        c.bytes.push_back(static_cast<u8>(op << 3 | (size == 1 ? 0 : 1)));
                        c.bytes.push_back(0x07);  // [rdi], al/ax/eax/rax
                        check(c, "alu corner");
                    }
}

TEST_F(NativeCompare, TestAndBitTestMatchTheCpu) {
    fill_random();
    Generator g{rng_, n_.buf()};
    for (u8 size : kAllSizes) {
        u8 const w = size == 1 ? 0 : 1;
        u8 const imm = size == 1 ? 1 : size == 2 ? 2 : 4;
        for (int k = 0; k < 150; ++k) check(g.make({{static_cast<u8>(0x84 | w)}, size, 0xFF, 0}, kLogic), "test r");
        for (int k = 0; k < 150; ++k) check(g.make({{static_cast<u8>(0xF6 | w)}, size, 0, imm}, kLogic), "test imm");
    }
    for (u8 size : kWideSizes)
        for (int k = 0; k < 150; ++k) check(g.make({{0x0F, 0xBA}, size, 4, 1}, kFlagCf), "bt imm");
}

TEST_F(NativeCompare, BitTestWithARegisterOffsetReachesOutsideTheOperand) {
    fill_random();
    u8* buf = n_.buf();
    for (u8 size : kWideSizes)
        for (int k = 0; k < 300; ++k) {
            Case c{};
            c.state = random_state();
            c.state.gpr[7] = reinterpret_cast<u64>(buf + kBuf / 2);            // RDI: the bit string
            c.state.gpr[1] = static_cast<u64>(static_cast<i64>(rng_() % 16384) - 8192);  // RCX: bit number
            c.flags_checked = kFlagCf;
            if (size == 2) c.bytes.push_back(0x66);
            if (size == 8) c.bytes.push_back(0x48);
            c.bytes.insert(c.bytes.end(), {0x0F, 0xA3, 0x0F});  // bt [rdi], ecx
            check(c, "bt reg");
        }
}

TEST_F(NativeCompare, MovesWithDirectOffsetsMatchTheCpu) {
    fill_random();
    u8* buf = n_.buf();
    for (u8 op = 0xA0; op <= 0xA3; ++op)
        for (u8 size : kAllSizes) {
            if ((op & 1) == 0 && size != 1) continue;
            if ((op & 1) == 1 && size == 1) continue;
            for (bool addr32 : {false, true}) {
                Case c{};
                c.state = random_state();
                c.flags_checked = kStatusFlags;
                u64 const where = reinterpret_cast<u64>(buf + 128 + rng_() % 1024);
                if (addr32) c.bytes.push_back(0x67);
                if (size == 2) c.bytes.push_back(0x66);
                if (size == 8) c.bytes.push_back(0x48);
                c.bytes.push_back(op);
                for (int i = 0; i < (addr32 ? 4 : 8); ++i) c.bytes.push_back(static_cast<u8>(where >> (8 * i)));
                check(c, "moffs");
            }
        }
}

TEST_F(NativeCompare, RepeatedStringMovesMatchTheCpuInBothDirections) {
    fill_random();
    u8* buf = n_.buf();
    for (u8 op : kStringOps)
        for (u8 size : kAllSizes) {
            if ((op & 1) == 0 && size != 1) continue;
            if ((op & 1) == 1 && size == 1) continue;
            for (int k = 0; k < 40; ++k) {
                bool const down = k & 1, rep = k & 2, addr32 = k & 4;
                Case c{};
                c.state = random_state();
                c.state.rflags |= down ? kFlagDf : 0;
                c.flags_checked = kStatusFlags;
                u64 const count = rng_() % 200;
                u64 const room = down ? 1800 : 0;  // 200 elements of 8 bytes fit below
                c.state.gpr[1] = rep ? (addr32 ? (c.state.gpr[1] & ~0xFFFFFFFFull) | count : count) : c.state.gpr[1];
                u64 const src = reinterpret_cast<u64>(buf + 64 + room);
                u64 const dst = reinterpret_cast<u64>(buf + 4096 + room);
                c.state.gpr[6] = addr32 ? (rng_() << 32) | src : src;  // upper half ignored, then cleared
                c.state.gpr[7] = addr32 ? (rng_() << 32) | dst : dst;
                if (addr32) c.bytes.push_back(0x67);
                if (size == 2) c.bytes.push_back(0x66);
                if (rep) c.bytes.push_back(rng_() & 1 ? 0xF3 : 0xF2);
                if (size == 8) c.bytes.push_back(0x48);
                c.bytes.push_back(op);
                if (rep && count == 0) continue;  // nothing to compare: no access at all
                check(c, "string");
            }
        }
}
