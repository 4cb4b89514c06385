#include "core/handlers/hypercall_policy.hpp"

#include "thinvisor/hypercall.h"

namespace tv {

HcRoute hc_route_of_instruction(u8 cpl) { return cpl == 0 ? HcRoute::Kernel : HcRoute::User; }

bool hc_allowed(u64 function, HcRoute route) {
    if (route != HcRoute::User) return true;
    // The log holds guest kernel addresses (and what mediators saw); the monitor's range is
    // a physical address. Neither is for a process the guest kernel did not trust.
    return function == TV_HC_INFO || function == TV_HC_COUNTER;
}

}  // namespace tv
