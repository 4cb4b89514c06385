#pragma once

#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv {
void handle_hypercall(Vcpu& v, ExitRecord const& e);
}
