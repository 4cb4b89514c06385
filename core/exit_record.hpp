// The vendor-neutral description of one VM exit. The SVM and VMX backends translate their
// VMCB/VMCS exit information into this record; handlers never see vendor structures.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class ExitReason : u8 {
    Cpuid,
    MsrRead,
    MsrWrite,
    Io,
    NestedFault,       // NPT #NPF or EPT violation/misconfiguration
    Hypercall,         // VMMCALL / VMCALL
    VirtInstruction,   // the guest tried VMRUN, VMXON, STGI, ... (must see #UD)
    Shutdown,          // triple fault
    Init,
    Sipi,
    Exception,         // an intercepted guest exception (e.g. #DB while single-stepping)
    ExternalInterrupt,
    Nmi,
    InterruptWindow,
    Hlt,
    CrAccess,
    Xsetbv,
    Invd,
    TaskSwitch,        // VMX: a hardware task switch (CALL/JMP to a TSS, IRET with NT, task gate)
    Timer,             // the monitor clock's own exit (VMX preemption timer)
    Unknown,           // an exit the backend could not classify: fatal
    Invalid,           // VM entry failed: fatal
    kCount,
};

char const* exit_reason_name(ExitReason r);

struct IoExit {
    u16 port;
    u8 size;  // 1, 2 or 4
    bool in;
    bool string;
    bool rep;
};

struct NestedFaultExit {
    Gpa gpa;
    bool read;
    bool write;
    bool fetch;
    bool present;  // the nested entry was present (a permission fault)
};

struct ExceptionExit {
    u8 vector;
    bool has_error;
    u32 error;
};

struct ExitRecord {
    ExitReason reason;
    // Length of the exiting instruction when the hardware tells it reliably; 0 = unknown,
    // the handler must not skip without decoding.
    u8 insn_len;
    u64 vendor_code;  // raw exit code, for logs only
    u64 vendor_info;  // raw qualification, for logs only
    union {
        IoExit io;
        NestedFaultExit npf;
        ExceptionExit exc;
        u8 sipi_vector;
    };
};

}  // namespace tv
