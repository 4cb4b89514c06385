#include "core/arch/x86/svm/svm_exit_decode.hpp"

#include "core/arch/x86/svm/vmcb.hpp"

namespace tv::svm {

namespace {

// Without NRIPS (QEMU TCG never offers it) the instruction length must come from what the
// instruction is: every intercepted instruction here has one fixed encoding.
u8 fixed_length(u64 code) {
    switch (code) {
        case exit_code::kCpuid:
        case exit_code::kMsr:
        case exit_code::kInvd:  // 0F 08
            return 2;
        case exit_code::kHlt:
            return 1;
        case exit_code::kVmrun:
        case exit_code::kVmmcall:
        case exit_code::kVmload:
        case exit_code::kVmsave:
        case exit_code::kStgi:
        case exit_code::kClgi:
        case exit_code::kSkinit:
        case exit_code::kInvlpga:
        case exit_code::kXsetbv:
            return 3;
        default:
            return 0;
    }
}

ExitReason classify(u64 code, u64 info1) {
    switch (code) {
        case exit_code::kCpuid: return ExitReason::Cpuid;
        case exit_code::kMsr: return info1 ? ExitReason::MsrWrite : ExitReason::MsrRead;
        case exit_code::kIoio: return ExitReason::Io;
        case exit_code::kNpf: return ExitReason::NestedFault;
        case exit_code::kVmmcall: return ExitReason::Hypercall;
        case exit_code::kVmrun:
        case exit_code::kVmload:
        case exit_code::kVmsave:
        case exit_code::kStgi:
        case exit_code::kClgi:
        case exit_code::kSkinit:
        case exit_code::kInvlpga: return ExitReason::VirtInstruction;
        case exit_code::kShutdown: return ExitReason::Shutdown;
        case exit_code::kInit: return ExitReason::Init;
        case exit_code::kIntr: return ExitReason::ExternalInterrupt;
        case exit_code::kNmi: return ExitReason::Nmi;
        case exit_code::kVintr: return ExitReason::InterruptWindow;
        case exit_code::kHlt: return ExitReason::Hlt;
        case exit_code::kXsetbv: return ExitReason::Xsetbv;
        case exit_code::kInvd: return ExitReason::Invd;
        case exit_code::kInvalid: return ExitReason::Invalid;
        default: break;
    }
    if (code >= exit_code::kExceptionBase && code < exit_code::kExceptionBase + 32) return ExitReason::Exception;
    if (code < 0x20) return ExitReason::CrAccess;
    return ExitReason::Unknown;
}

}  // namespace

ExitRecord decode_exit(RawExit const& raw) {
    ExitRecord e{};
    e.vendor_code = raw.exit_code;
    e.vendor_info = raw.info1;
    e.reason = classify(raw.exit_code, raw.info1);
    e.insn_len = fixed_length(raw.exit_code);
    if (raw.has_nrips && raw.next_rip > raw.rip && raw.next_rip - raw.rip <= 15)
        e.insn_len = static_cast<u8>(raw.next_rip - raw.rip);

    switch (e.reason) {
        case ExitReason::Io: {
            e.io.port = static_cast<u16>(raw.info1 >> 16);
            e.io.in = raw.info1 & 1;
            e.io.string = (raw.info1 >> 2) & 1;
            e.io.rep = (raw.info1 >> 3) & 1;
            e.io.size = (raw.info1 & (1u << 6)) ? 4 : (raw.info1 & (1u << 5)) ? 2 : 1;
            // EXITINFO2 holds the RIP of the next instruction for IOIO, NRIPS or not.
            if (raw.info2 > raw.rip && raw.info2 - raw.rip <= 15) e.insn_len = static_cast<u8>(raw.info2 - raw.rip);
            break;
        }
        case ExitReason::NestedFault:
            e.npf.gpa = Gpa{raw.info2};
            e.npf.present = raw.info1 & 1;
            e.npf.write = (raw.info1 >> 1) & 1;
            e.npf.fetch = (raw.info1 >> 4) & 1;
            e.npf.read = !e.npf.write && !e.npf.fetch;
            break;
        case ExitReason::Exception:
            e.exc.vector = static_cast<u8>(raw.exit_code - exit_code::kExceptionBase);
            e.exc.error = static_cast<u32>(raw.info1);
            e.exc.has_error = e.exc.vector == 8 || (e.exc.vector >= 10 && e.exc.vector <= 14) || e.exc.vector == 17;
            break;
        default:
            break;
    }
    return e;
}

}  // namespace tv::svm
