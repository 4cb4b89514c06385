// Who may call which hypercall (include/thinvisor/hypercall.h). Pure, host-tested.
//
// A VMMCALL/VMCALL exits whatever the guest's privilege, so the monitor itself must tell the
// guest kernel from its processes: the CPL. The guest kernel may also hand the hypercalls to
// processes it trusts through the hypercall port (TV_HC_PORT): the CPU checks the guest's own
// I/O permission (IOPL, TSS bitmap) before the access exits, so only code the guest kernel
// gave that port (Linux: ioperm/iopl, root only) reaches the monitor that way.
#pragma once

#include "core/types.hpp"

namespace tv {

enum class HcRoute : u8 {
    Kernel,  // VMMCALL/VMCALL at CPL 0 (real mode included)
    User,    // VMMCALL/VMCALL at CPL 1-3 (virtual-8086 mode included)
    Port,    // an OUT to TV_HC_PORT: the guest kernel allowed the caller port I/O
};

[[nodiscard]] HcRoute hc_route_of_instruction(u8 cpl);

// Whether `function` (RAX without the magic) may be called by this route. User mode gets
// only functions that say nothing about memory: the monitor's presence and the counters.
[[nodiscard]] bool hc_allowed(u64 function, HcRoute route);

}  // namespace tv
