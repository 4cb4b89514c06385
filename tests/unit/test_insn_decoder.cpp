// The instruction decoder: fields of hand-checked encodings in all three modes, the prefix
// rules, the refusal statuses, and lengths cross-checked against GNU objdump.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/insn/decoder.hpp"

using namespace tv;
using namespace tv::insn;

namespace {

std::vector<u8> hex(char const* s) {
    std::vector<u8> out;
    for (; s[0] && s[1]; s += 2) out.push_back(static_cast<u8>(std::stoul(std::string(s, 2), nullptr, 16)));
    return out;
}

DecodeStatus run(std::vector<u8> const& b, CpuMode m, Insn* out) { return decode(b.data(), b.size(), m, out); }

Insn ok(char const* bytes, CpuMode m = CpuMode::Bits64) {
    Insn i{};
    std::vector<u8> b = hex(bytes);
    EXPECT_EQ(run(b, m, &i), DecodeStatus::Ok) << bytes;
    EXPECT_EQ(i.length, b.size()) << bytes;
    return i;
}

DecodeStatus status(char const* bytes, CpuMode m = CpuMode::Bits64) {
    Insn i{};
    return run(hex(bytes), m, &i);
}

constexpr u8 kRax = 0, kRcx = 1, kRdx = 2, kRbx = 3, kRsp = 4, kRbp = 5, kRsi = 6, kRdi = 7, kR8 = 8, kR12 = 12,
             kR13 = 13, kR15 = 15;

}  // namespace

TEST(InsnDecoder, ModeComesFromProtectionLongModeAndCodeSegmentBits) {
    EXPECT_EQ(cpu_mode(0x10, 0, 0x2, 0), CpuMode::Bits16);                        // real mode
    EXPECT_EQ(cpu_mode(0x11, 0, 0x2, 1u << 10), CpuMode::Bits32);                 // CS.D
    EXPECT_EQ(cpu_mode(0x11, 0, 0x2, 0), CpuMode::Bits16);                        // 16-bit protected
    EXPECT_EQ(cpu_mode(0x80000011, 0x500, 0x2, 1u << 9), CpuMode::Bits64);        // CS.L
    EXPECT_EQ(cpu_mode(0x80000011, 0x500, 0x2, 1u << 10), CpuMode::Bits32);       // compatibility
    EXPECT_EQ(cpu_mode(0x11, 0, 0x2 | (1u << 17), 1u << 10), CpuMode::Bits16);   // virtual-8086
}

TEST(InsnDecoder, StoreOfARegisterToMemory) {
    Insn i = ok("8907");  // mov [rdi], eax
    EXPECT_EQ(i.kind, Kind::MovStore);
    EXPECT_EQ(i.op_size, 4);
    EXPECT_EQ(i.addr_size, 8);
    EXPECT_EQ(i.reg, kRax);
    EXPECT_EQ(i.mem.base, kRdi);
    EXPECT_EQ(i.mem.index, kNoReg);
    EXPECT_EQ(i.mem.seg, SegReg::Ds);
    EXPECT_FALSE(i.lock);
}

TEST(InsnDecoder, RexExtendsEveryRegisterFieldAndWidensTheOperand) {
    Insn i = ok("4f8b4c4510");  // mov r9, [r13 + r8*2 + 0x10]
    EXPECT_EQ(i.kind, Kind::MovLoad);
    EXPECT_EQ(i.op_size, 8);
    EXPECT_EQ(i.reg, 9);
    EXPECT_EQ(i.mem.base, kR13);
    EXPECT_EQ(i.mem.index, kR8);
    EXPECT_EQ(i.mem.scale, 2);
    EXPECT_EQ(i.mem.disp, 0x10u);
    EXPECT_EQ(i.mem.seg, SegReg::Ds);  // R13 is not RBP: no SS default
}

TEST(InsnDecoder, ByteRegistersFourToSevenAreHighBytesOnlyWithoutRex) {
    Insn a = ok("8827");  // mov [rdi], ah
    EXPECT_TRUE(a.reg_high8);
    EXPECT_EQ(a.reg, kRax);
    Insn b = ok("408837");  // mov [rdi], sil
    EXPECT_FALSE(b.reg_high8);
    EXPECT_EQ(b.reg, kRsi);
}

TEST(InsnDecoder, SibSpecialCasesNoIndexAndNoBase) {
    Insn a = ok("8b0424");  // mov eax, [rsp]: SIB with no index, SS default
    EXPECT_EQ(a.mem.base, kRsp);
    EXPECT_EQ(a.mem.index, kNoReg);
    EXPECT_EQ(a.mem.seg, SegReg::Ss);
    Insn b = ok("8b04a5efbeadde");  // mov eax, [0xdeadbeef]: SIB naming neither index nor base
    EXPECT_EQ(b.mem.base, kNoReg);
    EXPECT_EQ(b.mem.index, kNoReg);
    EXPECT_EQ(b.mem.disp, 0xFFFFFFFFDEADBEEFull);  // sign-extended
    Insn c = ok("428b04a0");  // mov eax, [rax + r12*4]: REX.X turns "no index" into R12
    EXPECT_EQ(c.mem.index, kR12);
    EXPECT_EQ(c.mem.scale, 4);
    Insn d = ok("418b4500");  // mov eax, [r13 + 0]: R13 needs a displacement like RBP
    EXPECT_EQ(d.mem.base, kR13);
    EXPECT_EQ(d.length, 4);
}

TEST(InsnDecoder, RipRelativeOnlyInSixtyFourBitMode) {
    Insn a = ok("8b0510000000");  // mov eax, [rip + 0x10]
    EXPECT_TRUE(a.mem.rip_relative);
    EXPECT_EQ(a.mem.base, kNoReg);
    Insn b = ok("8b0510000000", CpuMode::Bits32);  // mov eax, [0x10]
    EXPECT_FALSE(b.mem.rip_relative);
    EXPECT_EQ(b.mem.disp, 0x10u);
}

TEST(InsnDecoder, SixteenBitAddressingUsesTheFixedPairs) {
    Insn a = ok("8b4310", CpuMode::Bits16);  // mov ax, [bp+di+0x10]
    EXPECT_EQ(a.op_size, 2);
    EXPECT_EQ(a.addr_size, 2);
    EXPECT_EQ(a.mem.base, kRbp);
    EXPECT_EQ(a.mem.index, kRdi);
    EXPECT_EQ(a.mem.seg, SegReg::Ss);
    Insn b = ok("8b063412", CpuMode::Bits16);  // mov ax, [0x1234]
    EXPECT_EQ(b.mem.base, kNoReg);
    EXPECT_EQ(b.mem.disp, 0x1234u);
    Insn c = ok("8b0f", CpuMode::Bits16);  // mov cx, [bx]
    EXPECT_EQ(c.reg, kRcx);
    EXPECT_EQ(c.mem.base, kRbx);
    EXPECT_EQ(c.mem.seg, SegReg::Ds);
}

TEST(InsnDecoder, OperandAndAddressSizePrefixesToggleTheModeDefaults) {
    EXPECT_EQ(ok("668907").op_size, 2);
    EXPECT_EQ(ok("66488907").op_size, 8);  // REX.W wins over 66
    EXPECT_EQ(ok("678907").addr_size, 4);
    EXPECT_EQ(ok("668907", CpuMode::Bits16).op_size, 4);
    Insn i = ok("67668b07", CpuMode::Bits16);  // mov eax, [edi]
    EXPECT_EQ(i.op_size, 4);
    EXPECT_EQ(i.addr_size, 4);
    EXPECT_EQ(i.mem.base, kRdi);
    EXPECT_EQ(ok("8907", CpuMode::Bits32).op_size, 4);
}

TEST(InsnDecoder, SegmentOverridesReplaceTheDefaultSegment) {
    EXPECT_EQ(ok("648b07").mem.seg, SegReg::Fs);
    EXPECT_EQ(ok("268b4500", CpuMode::Bits32).mem.seg, SegReg::Es);  // over SS for EBP
    EXPECT_EQ(ok("2e3e658b07").mem.seg, SegReg::Gs);                  // the last one counts
}

TEST(InsnDecoder, RexBeforeALegacyPrefixIsIgnored) {
    Insn i = ok("48668907");  // REX.W then 66: the REX is dropped, 16-bit store
    EXPECT_EQ(i.op_size, 2);
    Insn j = ok("4c668907");  // REX.R dropped too: the register is AX, not R8
    EXPECT_EQ(j.reg, kRax);
}

TEST(InsnDecoder, ImmediatesAreSignExtendedWhereTheCpuDoes) {
    Insn a = ok("48c707ffffffff");  // mov qword [rdi], -1 (imm32)
    EXPECT_EQ(a.kind, Kind::MovImm);
    EXPECT_EQ(a.op_size, 8);
    EXPECT_EQ(a.imm, ~0ull);
    Insn b = ok("8307f0");  // add dword [rdi], -16
    EXPECT_EQ(b.kind, Kind::Alu);
    EXPECT_EQ(b.alu, AluOp::Add);
    EXPECT_EQ(b.imm, static_cast<u64>(-16));
    Insn c = ok("66c7073412");  // mov word [rdi], 0x1234
    EXPECT_EQ(c.imm, 0x1234u);
    EXPECT_EQ(c.length, 5);
    Insn d = ok("813f78563412");  // cmp dword [rdi], 0x12345678
    EXPECT_EQ(d.alu, AluOp::Cmp);
    EXPECT_EQ(d.imm, 0x12345678u);
    Insn e = ok("f60780");  // test byte [rdi], 0x80
    EXPECT_EQ(e.kind, Kind::Test);
    EXPECT_EQ(e.op_size, 1);
}

TEST(InsnDecoder, AluFormsSayWhichOperandIsWritten) {
    Insn a = ok("2107");  // and [rdi], eax
    EXPECT_EQ(a.alu, AluOp::And);
    EXPECT_FALSE(a.reg_is_dest);
    Insn b = ok("0b07");  // or eax, [rdi]
    EXPECT_EQ(b.alu, AluOp::Or);
    EXPECT_TRUE(b.reg_is_dest);
    Insn c = ok("3a07");  // cmp al, [rdi]
    EXPECT_EQ(c.alu, AluOp::Cmp);
    EXPECT_EQ(c.op_size, 1);
}

TEST(InsnDecoder, DirectOffsetIsAsWideAsTheAddress) {
    Insn a = ok("a1efcdab8967452301");  // mov eax, [0x0123456789abcdef]
    EXPECT_EQ(a.kind, Kind::MovLoad);
    EXPECT_EQ(a.mem.disp, 0x0123456789ABCDEFull);
    EXPECT_EQ(a.mem.base, kNoReg);
    Insn b = ok("67a278563412");  // mov [0x12345678], al with 32-bit addressing
    EXPECT_EQ(b.kind, Kind::MovStore);
    EXPECT_EQ(b.op_size, 1);
    Insn c = ok("a33412", CpuMode::Bits16);  // mov [0x1234], ax
    EXPECT_EQ(c.op_size, 2);
    EXPECT_EQ(c.mem.disp, 0x1234u);
}

TEST(InsnDecoder, ExtendingLoadsRecordSourceWidthAndSignedness) {
    Insn a = ok("0fb607");  // movzx eax, byte [rdi]
    EXPECT_EQ(a.kind, Kind::MovExtend);
    EXPECT_EQ(a.mem_size, 1);
    EXPECT_EQ(a.op_size, 4);
    EXPECT_FALSE(a.sign_extend);
    Insn b = ok("480fbf07");  // movsx rax, word [rdi]
    EXPECT_EQ(b.mem_size, 2);
    EXPECT_EQ(b.op_size, 8);
    EXPECT_TRUE(b.sign_extend);
    Insn c = ok("486307");  // movsxd rax, dword [rdi]
    EXPECT_EQ(c.mem_size, 4);
    EXPECT_TRUE(c.sign_extend);
    EXPECT_EQ(status("6307", CpuMode::Bits32), DecodeStatus::Unsupported);  // ARPL
}

TEST(InsnDecoder, StringInstructionsTakeRepAndTheSourceSegment) {
    Insn a = ok("f3a5");  // rep movsd
    EXPECT_EQ(a.kind, Kind::Movs);
    EXPECT_TRUE(a.rep);
    EXPECT_EQ(a.op_size, 4);
    EXPECT_EQ(a.mem.seg, SegReg::Ds);
    Insn b = ok("26f348ab");  // rep stosq; ES is always the destination
    EXPECT_EQ(b.kind, Kind::Stos);
    EXPECT_EQ(b.op_size, 8);
    EXPECT_EQ(b.mem.seg, SegReg::Es);
    Insn c = ok("64ac");  // lodsb from FS
    EXPECT_EQ(c.kind, Kind::Lods);
    EXPECT_FALSE(c.rep);
    EXPECT_EQ(c.mem.seg, SegReg::Fs);
    EXPECT_EQ(ok("67f3a4").addr_size, 4);
}

TEST(InsnDecoder, ExchangeAndBitTest) {
    Insn a = ok("f0871f");  // lock xchg [rdi], ebx
    EXPECT_EQ(a.kind, Kind::Xchg);
    EXPECT_EQ(a.reg, kRbx);
    EXPECT_TRUE(a.lock);
    Insn b = ok("0fa30f");  // bt [rdi], ecx
    EXPECT_EQ(b.kind, Kind::Bt);
    EXPECT_FALSE(b.has_imm);
    EXPECT_EQ(b.reg, kRcx);
    Insn c = ok("480fba2705");  // bt qword [rdi], 5
    EXPECT_TRUE(c.has_imm);
    EXPECT_EQ(c.imm, 5u);
    EXPECT_EQ(c.op_size, 8);
}

TEST(InsnDecoder, LockIsRejectedWhereTheCpuRaisesUndefinedOpcode) {
    EXPECT_EQ(status("f00107"), DecodeStatus::Ok);       // lock add [rdi], eax
    EXPECT_EQ(status("f08907"), DecodeStatus::Invalid);  // lock mov
    EXPECT_EQ(status("f03907"), DecodeStatus::Invalid);  // lock cmp
    EXPECT_EQ(status("f00307"), DecodeStatus::Invalid);  // lock add eax, [rdi]: register destination
    EXPECT_EQ(status("f08507"), DecodeStatus::Invalid);  // lock test
    EXPECT_EQ(status("f00fa307"), DecodeStatus::Invalid);  // lock bt
}

TEST(InsnDecoder, RegisterOnlyFormsAreReportedAsSuch) {
    EXPECT_EQ(status("89c7"), DecodeStatus::RegisterOperand);  // mov edi, eax
    EXPECT_EQ(status("83c001"), DecodeStatus::RegisterOperand);
}

TEST(InsnDecoder, InstructionsOutsideTheSubsetAreUnsupported) {
    EXPECT_EQ(status("90"), DecodeStatus::Unsupported);          // nop
    EXPECT_EQ(status("ff07"), DecodeStatus::Unsupported);        // inc dword [rdi]
    EXPECT_EQ(status("f717"), DecodeStatus::Unsupported);        // not dword [rdi]
    EXPECT_EQ(status("0fab07"), DecodeStatus::Unsupported);      // bts
    EXPECT_EQ(status("0fba2f01"), DecodeStatus::Unsupported);    // bts imm
    EXPECT_EQ(status("c5f96f07"), DecodeStatus::Unsupported);    // vmovdqa (VEX)
    EXPECT_EQ(status("0f1007"), DecodeStatus::Unsupported);      // movups
    EXPECT_EQ(status("c70f01000000"), DecodeStatus::Unsupported);  // C7 /1
    EXPECT_EQ(status("4007"), DecodeStatus::Unsupported);        // REX then POP ES (invalid anyway)
    EXPECT_EQ(status("4107", CpuMode::Bits32), DecodeStatus::Unsupported);  // INC ECX, not REX
}

TEST(InsnDecoder, EncodingsTheCpuRejectsAreInvalid) {
    EXPECT_EQ(status("820701"), DecodeStatus::Invalid);                   // 82 in 64-bit mode
    EXPECT_EQ(status("820701", CpuMode::Bits32), DecodeStatus::Ok);       // an alias of 80 there
    EXPECT_EQ(status("0fba2701"), DecodeStatus::Ok);                      // bt [rdi], 1
    EXPECT_EQ(status("0fba0701"), DecodeStatus::Invalid);                 // 0F BA /0
    EXPECT_EQ(status("6666666666666666666666666666668907"), DecodeStatus::Invalid);  // 17 bytes
}

TEST(InsnDecoder, TooFewBytesIsTruncatedNotInvalid) {
    EXPECT_EQ(status(""), DecodeStatus::Truncated);
    EXPECT_EQ(status("66"), DecodeStatus::Truncated);
    EXPECT_EQ(status("89"), DecodeStatus::Truncated);
    EXPECT_EQ(status("8904"), DecodeStatus::Truncated);         // SIB missing
    EXPECT_EQ(status("c70701"), DecodeStatus::Truncated);       // imm32 cut short
    EXPECT_EQ(status("a1efcdab89"), DecodeStatus::Truncated);   // moffs64 cut short
    EXPECT_EQ(status("0f"), DecodeStatus::Truncated);
    EXPECT_EQ(status("c7"), DecodeStatus::Truncated);
    EXPECT_EQ(status("0fba"), DecodeStatus::Truncated);
    // Fifteen bytes exactly are fine.
    EXPECT_EQ(status("26262626266648c7840012345678ffffffff"), DecodeStatus::Invalid);  // 18 bytes
    EXPECT_EQ(status("2626266648c7840012345678ffffffff"), DecodeStatus::Invalid);      // 16 bytes
    EXPECT_EQ(status("26266648c7840012345678ffffffff"), DecodeStatus::Ok);             // 15 bytes
}

// Lengths of random memory-form encodings from the covered opcodes, with random prefixes,
// ModRM, SIB, displacements and immediates, as GNU objdump 2.40 measures them.
struct Measured {
    CpuMode mode;
    char const* bytes;
};
constexpr Measured kObjdump[] = {
    {CpuMode::Bits64, "0a2530bb1d6d"},
    {CpuMode::Bits64, "0b0b"},
    {CpuMode::Bits64, "67631a"},
    {CpuMode::Bits64, "674da04dfad714"},
    {CpuMode::Bits64, "0fb691c5b10bec"},
    {CpuMode::Bits64, "3e4e8446dc"},
    {CpuMode::Bits64, "65f22644a4"},
    {CpuMode::Bits64, "f2412333"},
    {CpuMode::Bits64, "3e44a087f5520b69b94b0d"},
    {CpuMode::Bits64, "6438637a"},
    {CpuMode::Bits64, "2e2e6747a068f700f5"},
    {CpuMode::Bits64, "453629410e"},
    {CpuMode::Bits64, "f36626478a84d6431fb5ea"},
    {CpuMode::Bits64, "438a37"},
    {CpuMode::Bits64, "643b8467e546d53e"},
    {CpuMode::Bits64, "67f22e443830"},
    {CpuMode::Bits64, "4e0204a9"},
    {CpuMode::Bits64, "2636f263a72d8e1d5d"},
    {CpuMode::Bits64, "673e664d8342167a"},
    {CpuMode::Bits64, "400807"},
    {CpuMode::Bits64, "f2362e012482"},
    {CpuMode::Bits64, "664a8a7d11"},
    {CpuMode::Bits64, "420909"},
    {CpuMode::Bits64, "64f202752b"},
    {CpuMode::Bits64, "671321"},
    {CpuMode::Bits64, "f344874406f6"},
    {CpuMode::Bits64, "f3420294ea27e689c6"},
    {CpuMode::Bits64, "0fba210c"},
    {CpuMode::Bits64, "4a1b640694"},
    {CpuMode::Bits64, "237f88"},
    {CpuMode::Bits64, "263e44c68790988285cf"},
    {CpuMode::Bits64, "3e8b26"},
    {CpuMode::Bits64, "363646a01fff8eb8406e2f8a"},
    {CpuMode::Bits64, "4f0fba2025"},
    {CpuMode::Bits64, "f2f365874180"},
    {CpuMode::Bits64, "3b33"},
    {CpuMode::Bits64, "41c681ca65039522"},
    {CpuMode::Bits64, "266765450fba251c4ac91b6d"},
    {CpuMode::Bits64, "67672b2f"},
    {CpuMode::Bits64, "a5"},
    {CpuMode::Bits32, "230a"},
    {CpuMode::Bits32, "1b721f"},
    {CpuMode::Bits32, "1820"},
    {CpuMode::Bits32, "3ea02593253c"},
    {CpuMode::Bits32, "3e0fb723"},
    {CpuMode::Bits32, "67821e6f9342"},
    {CpuMode::Bits32, "642636a202764d2a"},
    {CpuMode::Bits32, "64a4"},
    {CpuMode::Bits32, "f21aae1a34004d"},
    {CpuMode::Bits32, "671a39"},
    {CpuMode::Bits32, "03982e85bb55"},
    {CpuMode::Bits32, "030e"},
    {CpuMode::Bits32, "3237"},
    {CpuMode::Bits32, "67285741"},
    {CpuMode::Bits32, "f3f366806c957ba6"},
    {CpuMode::Bits32, "f26566235848"},
    {CpuMode::Bits32, "661022"},
    {CpuMode::Bits32, "117bdb"},
    {CpuMode::Bits32, "f23852dc"},
    {CpuMode::Bits32, "2e8620"},
    {CpuMode::Bits32, "6482a72d8e1d5dd9"},
    {CpuMode::Bits32, "673e66a01589"},
    {CpuMode::Bits32, "642a8ab1098012"},
    {CpuMode::Bits32, "263375af"},
    {CpuMode::Bits32, "3664857c9617"},
    {CpuMode::Bits32, "33b65d00abc3"},
    {CpuMode::Bits32, "650909"},
    {CpuMode::Bits32, "64f202752b"},
    {CpuMode::Bits32, "671321"},
    {CpuMode::Bits32, "f3114ba9"},
    {CpuMode::Bits32, "3e0fbe3c66"},
    {CpuMode::Bits32, "672286b843"},
    {CpuMode::Bits32, "262215b0c0a13d"},
    {CpuMode::Bits32, "1009"},
    {CpuMode::Bits32, "2e30bfdb0ecc68"},
    {CpuMode::Bits32, "36a090988285"},
    {CpuMode::Bits32, "f30fb6aae6da4762"},
    {CpuMode::Bits32, "ad"},
    {CpuMode::Bits32, "360fb61d9f0b4110"},
    {CpuMode::Bits32, "234d37"},
    {CpuMode::Bits16, "230a"},
    {CpuMode::Bits16, "1b721f"},
    {CpuMode::Bits16, "1820"},
    {CpuMode::Bits16, "3ea02593"},
    {CpuMode::Bits16, "3e0fb723"},
    {CpuMode::Bits16, "67821e6f"},
    {CpuMode::Bits16, "642636a20276"},
    {CpuMode::Bits16, "64a4"},
    {CpuMode::Bits16, "f21aae1a34"},
    {CpuMode::Bits16, "671a39"},
    {CpuMode::Bits16, "03982e85"},
    {CpuMode::Bits16, "030e8ff1"},
    {CpuMode::Bits16, "3237"},
    {CpuMode::Bits16, "67285741"},
    {CpuMode::Bits16, "f3f366806c957b"},
    {CpuMode::Bits16, "f26566235848"},
    {CpuMode::Bits16, "661022"},
    {CpuMode::Bits16, "117bdb"},
    {CpuMode::Bits16, "f23852dc"},
    {CpuMode::Bits16, "2e8620"},
    {CpuMode::Bits16, "6482a72d8e1d"},
    {CpuMode::Bits16, "673e66a015894216"},
    {CpuMode::Bits16, "642a8ab109"},
    {CpuMode::Bits16, "263375af"},
    {CpuMode::Bits16, "3664857c96"},
    {CpuMode::Bits16, "33b65d00"},
    {CpuMode::Bits16, "650909"},
    {CpuMode::Bits16, "64f202752b"},
    {CpuMode::Bits16, "671321"},
    {CpuMode::Bits16, "f3114ba9"},
    {CpuMode::Bits16, "3e0fbe3c"},
    {CpuMode::Bits16, "672286b8438f39"},
    {CpuMode::Bits16, "262215"},
    {CpuMode::Bits16, "1009"},
    {CpuMode::Bits16, "2e30bfdb0e"},
    {CpuMode::Bits16, "36a09098"},
    {CpuMode::Bits16, "f30fb6aae6da"},
    {CpuMode::Bits16, "ad"},
    {CpuMode::Bits16, "360fb61d"},
    {CpuMode::Bits16, "234d37"},
};

TEST(InsnDecoder, LengthsAgreeWithObjdumpEvenWithTrailingBytes) {
    for (Measured const& m : kObjdump) {
        std::vector<u8> b = hex(m.bytes);
        size_t const want = b.size();
        b.resize(kMaxLength + 5, 0xCC);  // the decoder must stop on its own
        Insn i{};
        ASSERT_EQ(decode(b.data(), b.size(), m.mode, &i), DecodeStatus::Ok) << m.bytes;
        EXPECT_EQ(i.length, want) << m.bytes;
        // And one byte fewer is never enough.
        EXPECT_EQ(decode(b.data(), want - 1, m.mode, &i), DecodeStatus::Truncated) << m.bytes;
    }
}
