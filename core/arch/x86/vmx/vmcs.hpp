// Intel VMX: VMCS field encodings, exit reasons, control bits and the in-memory layouts the
// CPU reads (VMXON/VMCS regions, I/O and MSR bitmaps). Intel SDM vol. 3, appendices A-C.
// Only the VMX backend includes this file.
#pragma once

#include <stddef.h>

#include "core/types.hpp"

namespace tv::vmx {

// A field encoding carries its own width (bits 14:13) and kind (bits 11:10). Each width has
// its own type, so that vmread/vmwrite of the wrong size cannot compile, and the consteval
// constructor rejects an encoding whose width bits disagree with the declared type.
enum class Width : u8 { Bits16 = 0, Bits64 = 1, Bits32 = 2, Natural = 3 };
enum class Kind : u8 { Control = 0, ExitInfo = 1, Guest = 2, Host = 3 };

constexpr Width width_of(u32 enc) { return static_cast<Width>((enc >> 13) & 3); }
constexpr Kind kind_of(u32 enc) { return static_cast<Kind>((enc >> 10) & 3); }

void encoding_width_mismatch();  // never defined: calling it in a constant expression fails

template <Width W>
struct Field {
    u32 enc;
    consteval Field(u32 e) : enc(e) {
        if (width_of(e) != W || (e & 1) != 0) encoding_width_mismatch();
    }
};
using F16 = Field<Width::Bits16>;
using F32 = Field<Width::Bits32>;
using F64 = Field<Width::Bits64>;  // full 64-bit fields (never the "high" half alias)
using FNat = Field<Width::Natural>;

namespace field {
// 16-bit
inline constexpr F16 kGuestEsSel{0x0800}, kGuestCsSel{0x0802}, kGuestSsSel{0x0804}, kGuestDsSel{0x0806},
    kGuestFsSel{0x0808}, kGuestGsSel{0x080A}, kGuestLdtrSel{0x080C}, kGuestTrSel{0x080E};
inline constexpr F16 kHostEsSel{0x0C00}, kHostCsSel{0x0C02}, kHostSsSel{0x0C04}, kHostDsSel{0x0C06},
    kHostFsSel{0x0C08}, kHostGsSel{0x0C0A}, kHostTrSel{0x0C0C};
// 64-bit
inline constexpr F64 kIoBitmapA{0x2000}, kIoBitmapB{0x2002}, kMsrBitmap{0x2004};
inline constexpr F64 kEptp{0x201A}, kXssExitBitmap{0x202C};
inline constexpr F64 kGuestPhysAddr{0x2400};
inline constexpr F64 kVmcsLink{0x2800}, kGuestDebugCtl{0x2802}, kGuestPat{0x2804}, kGuestEfer{0x2806};
inline constexpr F64 kGuestPdpte0{0x280A}, kGuestPdpte1{0x280C}, kGuestPdpte2{0x280E}, kGuestPdpte3{0x2810};
inline constexpr F64 kHostPat{0x2C00}, kHostEfer{0x2C02};
// 32-bit
inline constexpr F32 kPinControls{0x4000}, kProcControls{0x4002}, kExceptionBitmap{0x4004};
inline constexpr F32 kCr3TargetCount{0x400A}, kExitControls{0x400C}, kExitMsrStoreCount{0x400E};
inline constexpr F32 kExitMsrLoadCount{0x4010}, kEntryControls{0x4012}, kEntryMsrLoadCount{0x4014};
inline constexpr F32 kEntryIntrInfo{0x4016}, kEntryErrorCode{0x4018}, kEntryInsnLen{0x401A};
inline constexpr F32 kProcControls2{0x401E};
inline constexpr F32 kInsnError{0x4400}, kExitReason{0x4402}, kExitIntrInfo{0x4404}, kExitIntrError{0x4406};
inline constexpr F32 kIdtVectInfo{0x4408}, kIdtVectError{0x440A}, kExitInsnLen{0x440C};
inline constexpr F32 kGuestEsLimit{0x4800}, kGuestCsLimit{0x4802}, kGuestSsLimit{0x4804}, kGuestDsLimit{0x4806},
    kGuestFsLimit{0x4808}, kGuestGsLimit{0x480A}, kGuestLdtrLimit{0x480C}, kGuestTrLimit{0x480E},
    kGuestGdtrLimit{0x4810}, kGuestIdtrLimit{0x4812};
inline constexpr F32 kGuestEsAr{0x4814}, kGuestCsAr{0x4816}, kGuestSsAr{0x4818}, kGuestDsAr{0x481A},
    kGuestFsAr{0x481C}, kGuestGsAr{0x481E}, kGuestLdtrAr{0x4820}, kGuestTrAr{0x4822};
inline constexpr F32 kGuestInterruptibility{0x4824}, kGuestActivity{0x4826}, kGuestSysenterCs{0x482A};
inline constexpr F32 kPreemptionTimerValue{0x482E};
inline constexpr F32 kHostSysenterCs{0x4C00};
// natural width
inline constexpr FNat kCr0Mask{0x6000}, kCr4Mask{0x6002}, kCr0Shadow{0x6004}, kCr4Shadow{0x6006};
inline constexpr FNat kExitQualification{0x6400};
inline constexpr FNat kGuestCr0{0x6800}, kGuestCr3{0x6802}, kGuestCr4{0x6804};
inline constexpr FNat kGuestEsBase{0x6806}, kGuestCsBase{0x6808}, kGuestSsBase{0x680A}, kGuestDsBase{0x680C},
    kGuestFsBase{0x680E}, kGuestGsBase{0x6810}, kGuestLdtrBase{0x6812}, kGuestTrBase{0x6814},
    kGuestGdtrBase{0x6816}, kGuestIdtrBase{0x6818};
inline constexpr FNat kGuestDr7{0x681A}, kGuestRsp{0x681C}, kGuestRip{0x681E}, kGuestRflags{0x6820};
inline constexpr FNat kGuestPendingDbg{0x6822}, kGuestSysenterEsp{0x6824}, kGuestSysenterEip{0x6826};
inline constexpr FNat kHostCr0{0x6C00}, kHostCr3{0x6C02}, kHostCr4{0x6C04}, kHostFsBase{0x6C06}, kHostGsBase{0x6C08},
    kHostTrBase{0x6C0A}, kHostGdtrBase{0x6C0C}, kHostIdtrBase{0x6C0E}, kHostSysenterEsp{0x6C10},
    kHostSysenterEip{0x6C12}, kHostRsp{0x6C14}, kHostRip{0x6C16};
}  // namespace field

static_assert(kind_of(field::kGuestCr0.enc) == Kind::Guest && kind_of(field::kHostRip.enc) == Kind::Host);
static_assert(kind_of(field::kExitReason.enc) == Kind::ExitInfo && kind_of(field::kEptp.enc) == Kind::Control);
static_assert(width_of(field::kGuestEfer.enc) == Width::Bits64 && width_of(field::kCr0Mask.enc) == Width::Natural);

// Basic exit reasons (SDM appendix C), exit reason bits 15:0.
namespace exit_reason {
inline constexpr u32 kExceptionNmi = 0, kExternalInterrupt = 1, kTripleFault = 2, kInit = 3, kSipi = 4;
inline constexpr u32 kInterruptWindow = 7, kNmiWindow = 8, kTaskSwitch = 9, kCpuid = 10, kGetsec = 11;
inline constexpr u32 kHlt = 12, kInvd = 13, kVmcall = 18, kVmclear = 19, kVmlaunch = 20, kVmptrld = 21;
inline constexpr u32 kVmptrst = 22, kVmread = 23, kVmresume = 24, kVmwrite = 25, kVmxoff = 26, kVmxon = 27;
inline constexpr u32 kCrAccess = 28, kIo = 30, kRdmsr = 31, kWrmsr = 32, kBadGuestState = 33, kBadMsrLoad = 34;
inline constexpr u32 kMtf = 37, kMachineCheck = 41, kEptViolation = 48, kEptMisconfig = 49, kInvept = 50;
inline constexpr u32 kPreemptionTimer = 52, kInvvpid = 53, kXsetbv = 55, kVmfunc = 59;
inline constexpr u32 kEntryFailed = 1u << 31;  // in the full exit reason field
}  // namespace exit_reason

// Pin-based (IA32_VMX_PINBASED_CTLS), primary and secondary processor-based controls.
namespace pin {
inline constexpr u32 kExternalInterruptExiting = 1u << 0;
inline constexpr u32 kNmiExiting = 1u << 3;
inline constexpr u32 kVirtualNmis = 1u << 5;
inline constexpr u32 kPreemptionTimer = 1u << 6;
}  // namespace pin
namespace proc {
inline constexpr u32 kNmiWindow = 1u << 22;
inline constexpr u32 kMtf = 1u << 27;
inline constexpr u32 kUseIoBitmaps = 1u << 25;
inline constexpr u32 kUseMsrBitmaps = 1u << 28;
inline constexpr u32 kSecondary = 1u << 31;
}  // namespace proc
namespace proc2 {
inline constexpr u32 kEpt = 1u << 1;
inline constexpr u32 kRdtscp = 1u << 3;
inline constexpr u32 kUnrestricted = 1u << 7;
inline constexpr u32 kInvpcid = 1u << 12;
inline constexpr u32 kXsaves = 1u << 20;
inline constexpr u32 kUserWaitPause = 1u << 26;
// Without these the guest gets #UD for instructions its CPUID promises: enable when offered.
inline constexpr u32 kPassThrough = kRdtscp | kInvpcid | kXsaves | kUserWaitPause;
}  // namespace proc2
namespace exit_ctl {
inline constexpr u32 kHost64 = 1u << 9;
inline constexpr u32 kSavePat = 1u << 18, kLoadPat = 1u << 19, kSaveEfer = 1u << 20, kLoadEfer = 1u << 21;
}  // namespace exit_ctl
namespace entry_ctl {
inline constexpr u32 kIa32eGuest = 1u << 9;
inline constexpr u32 kLoadPat = 1u << 14, kLoadEfer = 1u << 15;
}  // namespace entry_ctl

// Event injection / IDT-vectoring / exit interruption information format.
namespace intr {
inline constexpr u32 kValid = 1u << 31;
inline constexpr u32 kErrorValid = 1u << 11;
inline constexpr u32 kTypeShift = 8;
inline constexpr u32 kTypeNmi = 2, kTypeHwException = 3, kTypeSwInterrupt = 4, kTypePrivSwException = 5,
                     kTypeSwException = 6;
}  // namespace intr

// Control-register bits the backend shadows or checks (beyond core/arch/x86/cpu.hpp's).
namespace cr {
inline constexpr u64 kCr0Ts = 1ull << 3, kCr0Et = 1ull << 4, kCr0Nw = 1ull << 29, kCr0Cd = 1ull << 30;
inline constexpr u64 kCr4Pae = 1ull << 5, kCr4Vmxe = 1ull << 13, kCr4Pcide = 1ull << 17, kCr4Osxsave = 1ull << 18;
}  // namespace cr

// Guest interruptibility state. With virtual NMIs, "blocking by NMI" is the guest's virtual
// NMI blocking (set by an injected NMI, cleared by the guest's IRET).
inline constexpr u32 kBlockingStiMovSs = 3;
inline constexpr u32 kBlockingNmi = 1u << 3;
// Exit qualification (EPT violation) / exit interruption information: the faulting
// instruction was an IRET that had already unblocked NMIs.
inline constexpr u32 kNmiUnblockedByIret = 1u << 12;

// Access rights in the VMCS segment format: the descriptor's bits 40-55, plus "unusable".
inline constexpr u32 kArUnusable = 1u << 16;

struct alignas(4096) VmxRegion {  // VMXON region and VMCS alike: revision id first
    u32 revision;
    u32 abort;
    u8 data[4096 - 8];
};
static_assert(sizeof(VmxRegion) == 4096 && offsetof(VmxRegion, data) == 8);

// Two pages, one bit a port (set = exit): A covers 0x0000-0x7FFF, B 0x8000-0xFFFF. Laid out
// back to back it is exactly the core's InterceptSet::io_ports.
struct alignas(4096) IoBitmaps {
    u8 a[4096];
    u8 b[4096];
};
static_assert(sizeof(IoBitmaps) == 8192 && sizeof(IoBitmaps::a) * 8 == 0x8000);

// One page: read and write bits for MSRs 0-0x1FFF ("low") and 0xC0000000-0xC0001FFF ("high").
// Any other MSR always exits.
struct alignas(4096) MsrBitmap {
    u8 read_low[1024];
    u8 read_high[1024];
    u8 write_low[1024];
    u8 write_high[1024];
};
static_assert(sizeof(MsrBitmap) == 4096 && offsetof(MsrBitmap, write_low) == 2048);

struct InveptDescriptor {
    u64 eptp;
    u64 reserved;
};
static_assert(sizeof(InveptDescriptor) == 16);

}  // namespace tv::vmx
