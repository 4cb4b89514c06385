// Executor rules the comparison with the host CPU cannot show: 16-bit addressing and string
// wrap-around, RIP-relative operands, the REP iteration limit, and what a failed or
// postponed memory access leaves behind.
#include <gtest/gtest.h>

#include <vector>

#include "core/insn/alu.hpp"
#include "core/insn/decoder.hpp"
#include "core/insn/exec.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::insn;


namespace {

class CountingMemory final : public InsnMemory {
  public:
    MemResult read(SegReg s, u64 off, u8 size, u64* v) override {
        last_seg = s;
        last_off = off;
        last_size = size;
        ++reads;
        *v = value & size_mask(size);
        return reads > fail_after ? result : MemResult::Ok;
    }
    MemResult write(SegReg s, u64 off, u8 size, u64 v) override {
        last_seg = s;
        last_off = off;
        last_size = size;
        written = v;
        ++writes;
        return MemResult::Ok;
    }
    u64 value = 0;
    u64 written = 0;
    int reads = 0, writes = 0, fail_after = 1 << 30;
    MemResult result = MemResult::Ok;
    SegReg last_seg = SegReg::Cs;
    u64 last_off = 0;
    u8 last_size = 0;
};

Insn decoded(std::initializer_list<u8> bytes, CpuMode mode = CpuMode::Bits64) {
    std::vector<u8> b(bytes);
    Insn i{};
    EXPECT_EQ(decode(b.data(), b.size(), mode, &i), DecodeStatus::Ok);
    return i;
}

}  // namespace

TEST(InsnExec, RepStringStopsAfterTheIterationLimitWithRegistersUpdated) {
    test::FakeVcpu v;
    v.set_reg(Reg::Rcx, 10);
    v.set_reg(Reg::Rdi, 0x1000);
    v.set_reg(Reg::Rax, 0xAB);
    CountingMemory mem;
    EXPECT_EQ(execute(decoded({0xF3, 0xAA}), v, mem, 4), ExecStatus::Partial);  // rep stosb
    EXPECT_EQ(mem.writes, 4);
    EXPECT_EQ(v.reg(Reg::Rcx), 6u);
    EXPECT_EQ(v.reg(Reg::Rdi), 0x1004u);
    EXPECT_EQ(execute(decoded({0xF3, 0xAA}), v, mem, 100), ExecStatus::Done);
    EXPECT_EQ(v.reg(Reg::Rcx), 0u);
    EXPECT_EQ(mem.writes, 10);
}

TEST(InsnExec, SixteenBitStringAddressesWrapAndKeepTheUpperRegisterBits) {
    test::FakeVcpu v;
    v.set_reg(Reg::Rcx, 0xFFFF0002);  // CX = 2
    v.set_reg(Reg::Rdi, 0x1234FFFF);  // DI = FFFF
    CountingMemory mem;
    EXPECT_EQ(execute(decoded({0xF3, 0xAA}, CpuMode::Bits16), v, mem), ExecStatus::Done);
    EXPECT_EQ(mem.last_off, 0u);  // wrapped to 0000
    EXPECT_EQ(mem.last_seg, SegReg::Es);
    EXPECT_EQ(v.reg(Reg::Rdi), 0x12340001u);
    EXPECT_EQ(v.reg(Reg::Rcx), 0xFFFF0000u);
}

TEST(InsnExec, FailedReadLeavesRegistersAndFlagsUntouched) {
    test::FakeVcpu v;
    v.set_reg(Reg::Rax, 0x1111);
    v.rflags_ = 0x2;
    CountingMemory mem;
    mem.fail_after = 0;
    mem.result = MemResult::Failed;
    EXPECT_EQ(execute(decoded({0x03, 0x07}), v, mem), ExecStatus::Failed);  // add eax, [rdi]
    EXPECT_EQ(v.reg(Reg::Rax), 0x1111u);
    EXPECT_EQ(v.rflags_, 0x2u);
    mem.result = MemResult::Retry;
    EXPECT_EQ(execute(decoded({0x8B, 0x07}), v, mem), ExecStatus::Retry);  // mov eax, [rdi]
    EXPECT_EQ(v.reg(Reg::Rax), 0x1111u);
}

TEST(InsnExec, RepStringThatCannotContinueReportsPartialProgress) {
    test::FakeVcpu v;
    v.set_reg(Reg::Rcx, 5);
    CountingMemory mem;
    mem.fail_after = 2;
    mem.result = MemResult::Retry;
    EXPECT_EQ(execute(decoded({0xF3, 0xA5}), v, mem), ExecStatus::Partial);  // rep movsd
    EXPECT_EQ(v.reg(Reg::Rcx), 3u);
}

TEST(InsnExec, RipRelativeOperandIsMeasuredFromTheNextInstruction) {
    test::FakeVcpu v;
    v.rip_ = 0x400000;
    CountingMemory mem;
    // mov dword [rip + 0x100], 7: 10 bytes long
    Insn i = decoded({0xC7, 0x05, 0x00, 0x01, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00});
    EXPECT_EQ(execute(i, v, mem), ExecStatus::Done);
    EXPECT_EQ(mem.last_off, 0x40010Au);
    EXPECT_EQ(mem.written, 7u);
}

TEST(InsnExec, SixteenBitAddressingAddsBaseIndexAndDisplacementModulo64K) {
    test::FakeVcpu v;
    v.set_reg(Reg::Rbp, 0xFFF0);
    v.set_reg(Reg::Rdi, 0x20);
    CountingMemory mem;
    mem.value = 0xBEEF;
    // mov ax, [bp+di+0x10]: SS by default
    EXPECT_EQ(execute(decoded({0x8B, 0x43, 0x10}, CpuMode::Bits16), v, mem), ExecStatus::Done);
    EXPECT_EQ(mem.last_off, 0x20u);
    EXPECT_EQ(mem.last_seg, SegReg::Ss);
    EXPECT_EQ(v.reg(Reg::Rax) & 0xFFFF, 0xBEEFu);
}

TEST(InsnExec, RegisterWritesFollowTheWidthRules) {
    test::FakeVcpu v;
    v.set_reg(Reg::Rbx, 0x1122334455667788);
    write_gpr(v, 3, false, 4, 0xAABBCCDD);
    EXPECT_EQ(v.reg(Reg::Rbx), 0xAABBCCDDu);
    v.set_reg(Reg::Rbx, 0x1122334455667788);
    write_gpr(v, 3, false, 2, 0xAABB);
    EXPECT_EQ(v.reg(Reg::Rbx), 0x112233445566AABBu);
    write_gpr(v, 3, true, 1, 0xCC);  // BH
    EXPECT_EQ(v.reg(Reg::Rbx), 0x112233445566CCBBu);
    write_gpr(v, 3, false, 1, 0xDD);  // BL
    EXPECT_EQ(v.reg(Reg::Rbx), 0x112233445566CCDDu);
    EXPECT_EQ(read_gpr(v, 3, true, 1), 0xCCu);
}
