#include "core/arch/x86/vmx/vmx_exit_decode.hpp"

#include "core/arch/x86/vmx/vmcs.hpp"

namespace tv::vmx {

namespace {

namespace er = exit_reason;

ExitReason classify(u32 basic) {
    switch (basic) {
        case er::kExceptionNmi:
        case er::kMtf: return ExitReason::Exception;
        case er::kExternalInterrupt: return ExitReason::ExternalInterrupt;
        case er::kTripleFault: return ExitReason::Shutdown;
        case er::kInit: return ExitReason::Init;
        case er::kSipi: return ExitReason::Sipi;
        case er::kInterruptWindow: return ExitReason::InterruptWindow;
        case er::kCpuid: return ExitReason::Cpuid;
        case er::kHlt: return ExitReason::Hlt;
        case er::kInvd: return ExitReason::Invd;
        case er::kTaskSwitch: return ExitReason::TaskSwitch;
        case er::kVmcall: return ExitReason::Hypercall;
        case er::kGetsec:  // SMX belongs to the same family the guest must not use
        case er::kVmclear:
        case er::kVmlaunch:
        case er::kVmptrld:
        case er::kVmptrst:
        case er::kVmread:
        case er::kVmresume:
        case er::kVmwrite:
        case er::kVmxoff:
        case er::kVmxon:
        case er::kInvept:
        case er::kInvvpid:
        case er::kVmfunc: return ExitReason::VirtInstruction;
        case er::kCrAccess: return ExitReason::CrAccess;
        case er::kIo: return ExitReason::Io;
        case er::kRdmsr: return ExitReason::MsrRead;
        case er::kWrmsr: return ExitReason::MsrWrite;
        case er::kBadGuestState:
        case er::kBadMsrLoad:
        case er::kMachineCheck: return ExitReason::Invalid;
        case er::kEptViolation: return ExitReason::NestedFault;
        case er::kXsetbv: return ExitReason::Xsetbv;
        case er::kPreemptionTimer: return ExitReason::Timer;
        default: return ExitReason::Unknown;  // EPT misconfiguration included: a monitor bug
    }
}

// The VM-exit instruction length is defined only for exits caused by executing an
// instruction. Everything else (EPT violations above all) reports 0: handlers must not skip.
bool has_insn_len(ExitReason r) {
    switch (r) {
        case ExitReason::Cpuid:
        case ExitReason::MsrRead:
        case ExitReason::MsrWrite:
        case ExitReason::Io:
        case ExitReason::Hypercall:
        case ExitReason::VirtInstruction:
        case ExitReason::Hlt:
        case ExitReason::CrAccess:
        case ExitReason::Xsetbv:
        case ExitReason::Invd: return true;
        default: return false;
    }
}

void decode_event(RawExit const& raw, ExitRecord* e) {
    if (raw.reason == er::kMtf) {  // the single step the core asked for: a #DB trap to it
        e->exc = ExceptionExit{1, false, 0};
        return;
    }
    u32 const type = (raw.intr_info >> intr::kTypeShift) & 7;
    if (type == intr::kTypeNmi) e->reason = ExitReason::Nmi;
    bool const has_error = raw.intr_info & intr::kErrorValid;
    e->exc = ExceptionExit{static_cast<u8>(raw.intr_info), has_error, has_error ? raw.intr_error : 0};
}

}  // namespace

ExitRecord decode_exit(RawExit const& raw) {
    ExitRecord e{};
    u32 const basic = raw.reason & 0xFFFF;
    e.vendor_code = raw.reason;
    e.vendor_info = raw.qualification;
    e.reason = (raw.reason & er::kEntryFailed) ? ExitReason::Invalid : classify(basic);
    if (has_insn_len(e.reason) && raw.insn_len >= 1 && raw.insn_len <= 15) e.insn_len = static_cast<u8>(raw.insn_len);

    u64 const q = raw.qualification;
    switch (e.reason) {
        case ExitReason::Io:
            e.io.size = static_cast<u8>((q & 7) + 1);
            e.io.in = (q >> 3) & 1;
            e.io.string = (q >> 4) & 1;
            e.io.rep = (q >> 5) & 1;
            e.io.port = static_cast<u16>(q >> 16);
            break;
        case ExitReason::NestedFault:
            e.npf.gpa = Gpa{raw.gpa};
            e.npf.read = q & 1;
            e.npf.write = (q >> 1) & 1;
            e.npf.fetch = (q >> 2) & 1;
            e.npf.present = (q & 0x38) != 0;  // the walk found R, W or X somewhere: a permission fault
            break;
        case ExitReason::Exception:
            decode_event(raw, &e);
            break;
        case ExitReason::Sipi:
            e.sipi_vector = static_cast<u8>(q);
            break;
        default:
            break;
    }
    return e;
}

CrAccess decode_cr_access(u64 q) {
    return CrAccess{static_cast<u8>(q & 0xF), static_cast<CrAccessType>((q >> 4) & 3),
                    static_cast<Reg>((q >> 8) & 0xF), static_cast<u16>(q >> 16)};
}

u16 segment_attr(u32 ar) {
    if (ar & kArUnusable) return 0;  // reads as not present
    return static_cast<u16>((ar & 0xFF) | ((ar >> 4) & 0xF00));
}

u32 access_rights(u16 attr) {
    if (!(attr & 0x80)) return kArUnusable;  // not present: VMX calls it unusable
    return (attr & 0xFFu) | ((attr & 0xF00u) << 4);
}

bool nmi_injectable(u32 interruptibility, u32 entry_intr_info) {
    if (entry_intr_info & intr::kValid) return false;
    return !(interruptibility & (kBlockingNmi | kBlockingStiMovSs));
}

u32 loaded_access_rights(u16 attr) {
    constexpr u16 kPresent = 0x80, kCodeData = 0x10, kAccessed = 0x01, kDpl = 0x60;
    if (!(attr & kPresent)) return kArUnusable | (attr & kDpl);
    u32 const ar = access_rights(attr);
    return (attr & kCodeData) ? ar | kAccessed : ar;
}

}  // namespace tv::vmx
