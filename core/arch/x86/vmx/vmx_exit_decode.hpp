// Turns VMX exit information into the vendor-neutral ExitRecord, and translates the VMCS
// formats the backend shares with the core (segment attributes, CR-access qualifications).
// Pure: host-testable.
#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv::vmx {

struct RawExit {
    u32 reason;         // the full exit reason field (bit 31: the VM entry failed)
    u64 qualification;
    u32 insn_len;       // VM-exit instruction length
    u32 intr_info;      // VM-exit interruption information
    u32 intr_error;     // VM-exit interruption error code
    u64 gpa;            // guest-physical address (EPT violations)
};

ExitRecord decode_exit(RawExit const& raw);

// A control-register access, from the exit qualification of a CrAccess exit.
enum class CrAccessType : u8 { MovTo, MovFrom, Clts, Lmsw };
struct CrAccess {
    u8 cr;
    CrAccessType type;
    Reg gpr;          // MOV to/from CR: the general-purpose register
    u16 lmsw_source;  // LMSW: the 16-bit source operand
};
CrAccess decode_cr_access(u64 qualification);

// The core's segment attributes (type, S, DPL, P in bits 7:0; AVL, L, D/B, G in bits 11:8)
// and the VMCS access-rights format (the same bits at 7:0 and 15:12, bit 16 = unusable).
u16 segment_attr(u32 access_rights);
u32 access_rights(u16 segment_attr);
// The same for a segment register captured from a running CPU (the UEFI start), as VM entry
// checks it: a usable code or data segment must be marked accessed (loading it set the bit in
// the descriptor; a descriptor read back from a GDT the firmware keeps read-only may lack it),
// and an unusable one keeps its DPL (VM entry compares SS.DPL with CS.DPL even then).
u32 loaded_access_rights(u16 segment_attr);

// Whether an NMI for the guest can be injected at the next VM entry (virtual NMIs on): not
// while the guest blocks NMIs (it has not returned from the last one), sits in a STI or
// MOV SS shadow, or another event is already being injected. Otherwise it waits for an
// NMI-window exit.
bool nmi_injectable(u32 interruptibility, u32 entry_intr_info);

}  // namespace tv::vmx
