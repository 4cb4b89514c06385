// VMX exit information -> vendor-neutral exit records, and the VMCS formats shared with the core.
#include <gtest/gtest.h>

#include "core/arch/x86/vmx/vmcs.hpp"
#include "core/arch/x86/vmx/vmx_exit_decode.hpp"

using namespace tv;
using namespace tv::vmx;

namespace {
ExitRecord decode(u32 reason, u64 qual = 0, u32 len = 0, u32 intr = 0, u32 err = 0, u64 gpa = 0) {
    return decode_exit(RawExit{reason, qual, len, intr, err, gpa});
}
}  // namespace

TEST(VmxExitDecode, CpuidTakesTheReportedLength) {
    ExitRecord e = decode(exit_reason::kCpuid, 0, 2);
    EXPECT_EQ(e.reason, ExitReason::Cpuid);
    EXPECT_EQ(e.insn_len, 2);
    EXPECT_EQ(e.vendor_code, exit_reason::kCpuid);
}

TEST(VmxExitDecode, MsrDirectionComesFromTheReason) {
    EXPECT_EQ(decode(exit_reason::kRdmsr, 0, 2).reason, ExitReason::MsrRead);
    EXPECT_EQ(decode(exit_reason::kWrmsr, 0, 2).reason, ExitReason::MsrWrite);
    EXPECT_EQ(decode(exit_reason::kWrmsr, 0, 2).insn_len, 2);
}

TEST(VmxExitDecode, IoOutWordToPort) {
    // OUT DX, AX to 0x604: size-1 in bits 2:0, OUT (bit 3 clear), port in bits 31:16.
    ExitRecord e = decode(exit_reason::kIo, (0x604ull << 16) | 1, 1);
    EXPECT_EQ(e.reason, ExitReason::Io);
    EXPECT_EQ(e.io.port, 0x604);
    EXPECT_EQ(e.io.size, 2);
    EXPECT_FALSE(e.io.in);
    EXPECT_FALSE(e.io.string);
    EXPECT_FALSE(e.io.rep);
    EXPECT_EQ(e.insn_len, 1);
}

TEST(VmxExitDecode, IoRepInsdIsStringRepInOfFourBytes) {
    ExitRecord e = decode(exit_reason::kIo, (0x1F0ull << 16) | (1u << 5) | (1u << 4) | (1u << 3) | 3, 2);
    EXPECT_TRUE(e.io.in);
    EXPECT_TRUE(e.io.string);
    EXPECT_TRUE(e.io.rep);
    EXPECT_EQ(e.io.size, 4);
    EXPECT_EQ(e.io.port, 0x1F0);
    EXPECT_EQ(e.insn_len, 2);
}

TEST(VmxExitDecode, ImplausibleLengthIsUnknown) {
    EXPECT_EQ(decode(exit_reason::kCpuid, 0, 0).insn_len, 0);
    EXPECT_EQ(decode(exit_reason::kCpuid, 0, 16).insn_len, 0);
}

TEST(VmxExitDecode, EptViolationNeverTrustsTheLength) {
    // Bochs fills the length field for EPT violations; it is not architectural.
    ExitRecord w = decode(exit_reason::kEptViolation, 0x2, 3, 0, 0, 0x1e001234);
    EXPECT_EQ(w.reason, ExitReason::NestedFault);
    EXPECT_EQ(w.insn_len, 0);
    EXPECT_EQ(w.npf.gpa, Gpa{0x1e001234u});
    EXPECT_TRUE(w.npf.write);
    EXPECT_FALSE(w.npf.read);
    EXPECT_FALSE(w.npf.fetch);
    EXPECT_FALSE(w.npf.present);  // bits 5:3 clear: nothing mapped there
}

TEST(VmxExitDecode, EptViolationAccessKindAndPresence) {
    ExitRecord f = decode(exit_reason::kEptViolation, 0x4 | (0x5 << 3), 0, 0, 0, 0x2000);  // fetch of an R-X page
    EXPECT_TRUE(f.npf.fetch);
    EXPECT_TRUE(f.npf.present);
    ExitRecord r = decode(exit_reason::kEptViolation, 0x1, 0, 0, 0, 0x3000);
    EXPECT_TRUE(r.npf.read);
    EXPECT_FALSE(r.npf.present);
}

TEST(VmxExitDecode, EptMisconfigurationIsFatal) {
    EXPECT_EQ(decode(exit_reason::kEptMisconfig).reason, ExitReason::Unknown);
}

TEST(VmxExitDecode, VmxInstructionsAreVirtInstructions) {
    for (u32 r : {exit_reason::kVmclear, exit_reason::kVmlaunch, exit_reason::kVmptrld, exit_reason::kVmptrst,
                  exit_reason::kVmread, exit_reason::kVmresume, exit_reason::kVmwrite, exit_reason::kVmxoff,
                  exit_reason::kVmxon, exit_reason::kInvept, exit_reason::kInvvpid, exit_reason::kVmfunc,
                  exit_reason::kGetsec}) {
        ExitRecord e = decode(r, 0, 3);
        EXPECT_EQ(e.reason, ExitReason::VirtInstruction) << r;
        EXPECT_EQ(e.insn_len, 3) << r;
    }
    EXPECT_EQ(decode(exit_reason::kVmcall, 0, 3).reason, ExitReason::Hypercall);
    EXPECT_EQ(decode(exit_reason::kVmcall, 0, 3).insn_len, 3);
}

TEST(VmxExitDecode, MonitorTrapFlagIsTheSingleStepDebugTrap) {
    ExitRecord e = decode(exit_reason::kMtf);
    EXPECT_EQ(e.reason, ExitReason::Exception);
    EXPECT_EQ(e.exc.vector, 1);
    EXPECT_FALSE(e.exc.has_error);
    EXPECT_EQ(e.insn_len, 0);
}

TEST(VmxExitDecode, InterceptedExceptionWithAndWithoutErrorCode) {
    u32 const hw = intr::kValid | (intr::kTypeHwException << intr::kTypeShift);
    ExitRecord db = decode(exit_reason::kExceptionNmi, 0x4000, 0, hw | 1);
    EXPECT_EQ(db.reason, ExitReason::Exception);
    EXPECT_EQ(db.exc.vector, 1);
    EXPECT_FALSE(db.exc.has_error);
    ExitRecord gp = decode(exit_reason::kExceptionNmi, 0, 0, hw | intr::kErrorValid | 13, 0x18);
    EXPECT_EQ(gp.exc.vector, 13);
    EXPECT_TRUE(gp.exc.has_error);
    EXPECT_EQ(gp.exc.error, 0x18u);
    ExitRecord nmi = decode(exit_reason::kExceptionNmi, 0, 0, intr::kValid | (intr::kTypeNmi << intr::kTypeShift) | 2);
    EXPECT_EQ(nmi.reason, ExitReason::Nmi);
}

TEST(VmxExitDecode, EventAndLifecycleReasons) {
    EXPECT_EQ(decode(exit_reason::kTripleFault).reason, ExitReason::Shutdown);
    EXPECT_EQ(decode(exit_reason::kInit).reason, ExitReason::Init);
    EXPECT_EQ(decode(exit_reason::kExternalInterrupt).reason, ExitReason::ExternalInterrupt);
    EXPECT_EQ(decode(exit_reason::kInterruptWindow).reason, ExitReason::InterruptWindow);
    EXPECT_EQ(decode(exit_reason::kTripleFault, 0, 5).insn_len, 0);
    ExitRecord sipi = decode(exit_reason::kSipi, 0x9A);
    EXPECT_EQ(sipi.reason, ExitReason::Sipi);
    EXPECT_EQ(sipi.sipi_vector, 0x9A);
}

// A guest's task switch is its own exit (the guest is shut down, the monitor goes on), not an
// unknown one that would panic the monitor.
TEST(VmxExitDecode, TaskSwitchIsItsOwnReasonAndNeverSkipped) {
    ExitRecord const e = decode(exit_reason::kTaskSwitch, 0x40000028, 3);  // JMP to TSS selector 0x28
    EXPECT_EQ(e.reason, ExitReason::TaskSwitch);
    EXPECT_EQ(e.insn_len, 0);
    EXPECT_EQ(e.vendor_info, 0x40000028u);
    EXPECT_STREQ(exit_reason_name(ExitReason::TaskSwitch), "task-switch");
    EXPECT_STREQ(exit_reason_name(ExitReason::Invalid), "invalid");
}

TEST(VmxExitDecode, InstructionExitsWithLengths) {
    EXPECT_EQ(decode(exit_reason::kXsetbv, 0, 3).reason, ExitReason::Xsetbv);
    EXPECT_EQ(decode(exit_reason::kXsetbv, 0, 3).insn_len, 3);
    EXPECT_EQ(decode(exit_reason::kHlt, 0, 1).reason, ExitReason::Hlt);
    EXPECT_EQ(decode(exit_reason::kInvd, 0, 2).reason, ExitReason::Invd);
    ExitRecord cr = decode(exit_reason::kCrAccess, 0x304, 3);
    EXPECT_EQ(cr.reason, ExitReason::CrAccess);
    EXPECT_EQ(cr.insn_len, 3);
    EXPECT_EQ(cr.vendor_info, 0x304u);
}

TEST(VmxExitDecode, FailedEntriesAreInvalid) {
    ExitRecord e = decode(exit_reason::kEntryFailed | exit_reason::kBadGuestState, 3);
    EXPECT_EQ(e.reason, ExitReason::Invalid);
    EXPECT_EQ(e.vendor_code, exit_reason::kEntryFailed | exit_reason::kBadGuestState);
    EXPECT_EQ(e.vendor_info, 3u);
    EXPECT_EQ(decode(exit_reason::kBadMsrLoad).reason, ExitReason::Invalid);
    EXPECT_EQ(decode(exit_reason::kMachineCheck).reason, ExitReason::Invalid);
}

TEST(VmxCrAccess, MovToCr0FromRax) {
    CrAccess a = decode_cr_access(0x000);
    EXPECT_EQ(a.cr, 0);
    EXPECT_EQ(a.type, CrAccessType::MovTo);
    EXPECT_EQ(a.gpr, Reg::Rax);
}

TEST(VmxCrAccess, MovFromCr4ToR12) {
    CrAccess a = decode_cr_access(4 | (1u << 4) | (12u << 8));
    EXPECT_EQ(a.cr, 4);
    EXPECT_EQ(a.type, CrAccessType::MovFrom);
    EXPECT_EQ(a.gpr, Reg::R12);
}

TEST(VmxCrAccess, CltsAndLmsw) {
    EXPECT_EQ(decode_cr_access(2u << 4).type, CrAccessType::Clts);
    CrAccess l = decode_cr_access((3u << 4) | (0x8001ull << 16));
    EXPECT_EQ(l.type, CrAccessType::Lmsw);
    EXPECT_EQ(l.lmsw_source, 0x8001);
}

TEST(VmxSegments, AccessRightsRoundTripThroughTheCoreFormat) {
    // A 64-bit code segment: type B, S, P, L, G -> VMX AR 0xA09B, core attr 0xA9B.
    EXPECT_EQ(segment_attr(0xA09B), 0xA9B);
    EXPECT_EQ(access_rights(0xA9B), 0xA09Bu);
    for (u16 attr : {u16{0x93}, u16{0x9B}, u16{0xC93}, u16{0x8B}, u16{0x82}, u16{0xCF3}})
        EXPECT_EQ(segment_attr(access_rights(attr)), attr) << attr;
}

TEST(VmxSegments, UnusableIsNotPresent) {
    EXPECT_EQ(segment_attr(kArUnusable | 0x93), 0);
    EXPECT_EQ(access_rights(0x13), kArUnusable);
}

TEST(VmxSegments, CapturedSegmentsAreMarkedAccessed) {
    // A 64-bit code segment read back from a descriptor without the accessed bit (type A).
    EXPECT_EQ(loaded_access_rights(0xA9A), 0xA09Bu);
    EXPECT_EQ(loaded_access_rights(0xC92), 0xC093u);  // flat data, type 2 -> 3
    EXPECT_EQ(loaded_access_rights(0xA9B), 0xA09Bu);  // already accessed: unchanged
}

TEST(VmxSegments, CapturedSystemSegmentsKeepTheirType) {
    EXPECT_EQ(loaded_access_rights(0x8B), 0x8Bu);  // busy 64-bit TSS: type 11 stays 11
    EXPECT_EQ(loaded_access_rights(0x82), 0x82u);  // LDT
}

TEST(VmxSegments, CapturedNullSegmentIsUnusableWithItsDpl) {
    EXPECT_EQ(loaded_access_rights(0), kArUnusable);
    EXPECT_EQ(loaded_access_rights(0x60), kArUnusable | 0x60);
}

TEST(VmxNmi, InjectableOnlyWhenTheGuestCanTakeIt) {
    EXPECT_TRUE(nmi_injectable(0, 0));
    EXPECT_FALSE(nmi_injectable(kBlockingNmi, 0)) << "still in its NMI handler";
    EXPECT_FALSE(nmi_injectable(1, 0)) << "STI shadow";
    EXPECT_FALSE(nmi_injectable(2, 0)) << "MOV SS shadow";
    EXPECT_FALSE(nmi_injectable(0, intr::kValid | 14)) << "another event is being injected";
    EXPECT_TRUE(nmi_injectable(1u << 2, 14)) << "SMI blocking and a stale, invalid field do not matter";
}
