// The monitor's physical memory, seen from the guest: not mapped in the nested tables.
// A guest access faults; the monitor counts it and lets exactly that one instruction run
// against a page of zeros (reads) or a throw-away page (writes), then unmaps it again.
// The effect: reads return zeros, writes are dropped, every access is counted, and no
// instruction decoder is needed (rep movs, atomics and page-crossing accesses all work).
#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv {

[[nodiscard]] Status hidden_memory_init(u64 base, u64 size);
bool hidden_memory_contains(u64 gpa);
void hidden_memory_fault(Vcpu& v, NestedFaultExit const& f);
// Returns true when the #DB was the end of our single step (and consumed it).
[[nodiscard]] bool hidden_memory_step_done(Vcpu& v);

}  // namespace tv
