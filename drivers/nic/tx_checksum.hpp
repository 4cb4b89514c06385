// The checksums a guest asks the e1000 to insert while it transmits (the SDM's "checksum
// offload"): applied by the monitor to a guest frame it copies out, so the frame that reaches
// the switch (the monitor's stack, a VPN) is the one the wire would have carried.
// - legacy descriptor with CMD.IC: one sum from CSS to the end, stored at CSO;
// - data descriptor POPTS.IXSM / POPTS.TXSM: the IP and the TCP/UDP sums with the offsets of
//   the last context descriptor (IPCSS/IPCSO/IPCSE, TUCSS/TUCSO/TUCSE; an end of 0 means the
//   end of the frame). The field's own content is part of the sum, as on the device: a driver
//   seeds the TCP/UDP field with the pseudo-header's sum.
#pragma once

#include "core/types.hpp"
#include "drivers/nic/e1000_regs.hpp"

namespace tv::nic {

struct TxSum {
    bool on;
    u32 start, store, end;  // end inclusive; 0: the frame's last byte
};

struct TxChecksums {
    TxSum ip, l4;
};

TxChecksums legacy_checksum(u8 css, u8 cso);
TxChecksums context_checksums(e1000::TxDesc const& context, u8 popts);
// Sums with a field outside the frame, or a start past the end, are skipped.
void apply_checksums(u8* frame, u32 len, TxChecksums const& sums);

}  // namespace tv::nic
