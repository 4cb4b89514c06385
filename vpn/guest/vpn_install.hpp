// The VPN's guest side in the monitor: with [vpn] in thinvisor.conf, the e1000 mediator's
// switch gets the VPN policy at init, before the guest runs, so that not one guest frame
// is ever forwarded by the default policy. The tunnel is vpn/monitor's IKE/ESP tunnel, down
// (fail closed) until its child SA is up; FailClosedTunnel if it cannot run at all: the guest
// gets its address and gateway either way, and nothing of its leaves in clear.
// Monitor-only (not in the host build): the pure parts are vpn_policy and its helpers.
#pragma once

#include "core/types.hpp"

namespace tv::nic {
class E1000Mediator;
}

namespace tv::vpn {

// Installs the policy on `med` when [vpn] is configured; does nothing otherwise. Called
// from the e1000 install path once the mediator is initialised.
void vpn_guest_install(nic::E1000Mediator& med);

}  // namespace tv::vpn
