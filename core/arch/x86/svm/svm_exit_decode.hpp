// Turns SVM exit information into the vendor-neutral ExitRecord. Pure: host-testable.
#pragma once

#include "core/exit_record.hpp"

namespace tv::svm {

struct RawExit {
    u64 exit_code;
    u64 info1;
    u64 info2;
    u64 rip;       // guest RIP at the exit
    u64 next_rip;  // VMCB nRIP, valid only when the CPU has NRIPS
    bool has_nrips;
};

ExitRecord decode_exit(RawExit const& raw);

}  // namespace tv::svm
