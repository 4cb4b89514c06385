// SVM exit information -> vendor-neutral exit records.
#include <gtest/gtest.h>

#include "core/arch/x86/svm/svm_exit_decode.hpp"
#include "core/arch/x86/svm/vmcb.hpp"

using namespace tv;
using namespace tv::svm;

namespace {
ExitRecord decode(u64 code, u64 info1 = 0, u64 info2 = 0, u64 rip = 0x1000, bool nrips = false, u64 nrip = 0) {
    return decode_exit(RawExit{code, info1, info2, rip, nrip, nrips});
}
}  // namespace

TEST(SvmExitDecode, CpuidHasTwoByteLengthWithoutNrips) {
    ExitRecord e = decode(exit_code::kCpuid);
    EXPECT_EQ(e.reason, ExitReason::Cpuid);
    EXPECT_EQ(e.insn_len, 2);
}

TEST(SvmExitDecode, MsrDirectionComesFromExitInfo1) {
    EXPECT_EQ(decode(exit_code::kMsr, 0).reason, ExitReason::MsrRead);
    EXPECT_EQ(decode(exit_code::kMsr, 1).reason, ExitReason::MsrWrite);
    EXPECT_EQ(decode(exit_code::kMsr, 1).insn_len, 2);
}

TEST(SvmExitDecode, IoOutWordToPortAndLengthFromNextRip) {
    // OUT DX, AX to 0x604: port in bits 16-31, SZ16 (bit 5), type OUT (bit 0 clear).
    ExitRecord e = decode(exit_code::kIoio, (0x604ull << 16) | (1u << 5), 0x1001, 0x1000);
    EXPECT_EQ(e.reason, ExitReason::Io);
    EXPECT_EQ(e.io.port, 0x604);
    EXPECT_EQ(e.io.size, 2);
    EXPECT_FALSE(e.io.in);
    EXPECT_FALSE(e.io.string);
    EXPECT_EQ(e.insn_len, 1);
}

TEST(SvmExitDecode, IoRepInsbIsStringRepIn) {
    ExitRecord e = decode(exit_code::kIoio, (0x1F0ull << 16) | (1u << 4) | (1u << 3) | (1u << 2) | 1u, 0x1003, 0x1000);
    EXPECT_TRUE(e.io.in);
    EXPECT_TRUE(e.io.string);
    EXPECT_TRUE(e.io.rep);
    EXPECT_EQ(e.io.size, 1);
    EXPECT_EQ(e.insn_len, 3);
}

TEST(SvmExitDecode, IoWithImplausibleNextRipHasUnknownLength) {
    ExitRecord e = decode(exit_code::kIoio, (0x80ull << 16) | (1u << 4), 0x0, 0x1000);
    EXPECT_EQ(e.insn_len, 0);
}

TEST(SvmExitDecode, NestedFaultCarriesGpaAndAccessKind) {
    ExitRecord w = decode(exit_code::kNpf, 0x100000006ull, 0x1e001234);
    EXPECT_EQ(w.reason, ExitReason::NestedFault);
    EXPECT_EQ(w.npf.gpa, Gpa{0x1e001234u});
    EXPECT_TRUE(w.npf.write);
    EXPECT_FALSE(w.npf.read);
    EXPECT_FALSE(w.npf.present);
    ExitRecord f = decode(exit_code::kNpf, 0x100000015ull, 0x2000);
    EXPECT_TRUE(f.npf.fetch);
    EXPECT_TRUE(f.npf.present);
    EXPECT_FALSE(f.npf.read);
    ExitRecord r = decode(exit_code::kNpf, 0x100000004ull, 0x3000);
    EXPECT_TRUE(r.npf.read);
}

TEST(SvmExitDecode, SvmInstructionsAreVirtInstructionsOfThreeBytes) {
    for (u64 c : {exit_code::kVmrun, exit_code::kVmload, exit_code::kVmsave, exit_code::kStgi, exit_code::kClgi,
                  exit_code::kSkinit}) {
        ExitRecord e = decode(c);
        EXPECT_EQ(e.reason, ExitReason::VirtInstruction) << c;
        EXPECT_EQ(e.insn_len, 3) << c;
    }
    EXPECT_EQ(decode(exit_code::kVmmcall).reason, ExitReason::Hypercall);
}

TEST(SvmExitDecode, ExceptionVectorAndErrorCode) {
    ExitRecord db = decode(exit_code::kExceptionBase + 1);
    EXPECT_EQ(db.reason, ExitReason::Exception);
    EXPECT_EQ(db.exc.vector, 1);
    EXPECT_FALSE(db.exc.has_error);
    ExitRecord gp = decode(exit_code::kExceptionBase + 13, 0x18);
    EXPECT_TRUE(gp.exc.has_error);
    EXPECT_EQ(gp.exc.error, 0x18u);
}

TEST(SvmExitDecode, ShutdownInvalidAndUnknown) {
    EXPECT_EQ(decode(exit_code::kShutdown).reason, ExitReason::Shutdown);
    EXPECT_EQ(decode(exit_code::kInvalid).reason, ExitReason::Invalid);
    EXPECT_EQ(decode(0x3FF).reason, ExitReason::Unknown);
}

TEST(SvmExitDecode, NripsOverridesFixedLengths) {
    ExitRecord e = decode(exit_code::kCpuid, 0, 0, 0x1000, true, 0x1004);  // with a prefix
    EXPECT_EQ(e.insn_len, 4);
}

TEST(SvmExitDecode, InvdIsATwoByteInvdExitAndInitAnInitExit) {
    ExitRecord e = decode(exit_code::kInvd);
    EXPECT_EQ(e.reason, ExitReason::Invd);
    EXPECT_EQ(e.insn_len, 2);
    EXPECT_EQ(decode(exit_code::kInit).reason, ExitReason::Init);
}

// The intercepts every VMCB starts with: dropping one of these lets the guest reset a CPU out
// of SVM, discard the monitor's dirty cache lines, or use SVM itself.
TEST(SvmIntercepts, GuestCannotEscapeByInitInvdOrSvmInstructions) {
    using namespace tv::svm::intercept;
    for (u32 bit : {kNmi, kInit, kInvd, kCpuid, kInvlpga, kIoio, kMsr, kShutdown})
        EXPECT_TRUE(kBaseMisc1 & bit) << std::hex << bit;
    for (u32 bit : {kVmrun, kVmmcall, kVmload, kVmsave, kStgi, kClgi, kSkinit})
        EXPECT_TRUE(kBaseMisc2 & bit) << std::hex << bit;
    EXPECT_EQ(kInit, 1u << 3);
    EXPECT_EQ(kInvd, 1u << 22);
}
