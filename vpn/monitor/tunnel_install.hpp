// The tunnel's place in the monitor: with [vpn], the e1000 install (vpn/guest/vpn_install.cpp)
// asks for the tunnel the guest side sends through. Monitor-only; the host build of the
// install glue links a fake that returns nullptr (tests/unit/mocks).
#pragma once

#include "core/types.hpp"
#include "vpn/guest/tunnel.hpp"

namespace tv::nic {
class E1000Mediator;
}

namespace tv::vpn {

class VpnGuestPolicy;

// Builds the IKE/ESP tunnel from [vpn] (the PSK module is read and wiped here), puts its tick
// on the monitor clock and its counters in the power-off log and the hypercall device
// counters. nullptr when it cannot run (logged): the caller keeps the fail-closed stub.
Tunnel* vpn_tunnel_install(VpnGuestPolicy& policy, nic::E1000Mediator& med);

}  // namespace tv::vpn
