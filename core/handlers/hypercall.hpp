#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv {
void handle_hypercall(Vcpu& v, ExitRecord const& e);
// Claims TV_HC_PORT, the route the guest kernel can hand to processes it trusts.
[[nodiscard]] Status hypercall_port_install();
}
