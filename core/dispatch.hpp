// Exit dispatch: one handler per vendor-neutral exit reason.
#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv {

void dispatch_exit(Vcpu& v, ExitRecord const& e);
[[noreturn]] void vcpu_loop(Vcpu& v);

}  // namespace tv
