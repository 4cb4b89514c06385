// The machine's I/O ports as the monitor's own code reaches them: a mediator's probe before
// the guest runs and its accesses on the guest's behalf (the IDE channels). One seam, so the
// install glue that probes hardware is host-tested against a fake machine (tests/unit/mocks)
// while the monitor's implementation is the in/out instructions (port_io_monitor.cpp).
#pragma once

#include "core/types.hpp"

namespace tv {

class PortIo {
  public:
    virtual u32 in(u16 port, u8 size) = 0;  // size 1, 2 or 4
    virtual void out(u16 port, u8 size, u32 value) = 0;
    // n 16-bit words from / to one port, as REP INSW / REP OUTSW.
    virtual void in_words(u16 port, u16* buf, u32 n) = 0;
    virtual void out_words(u16 port, u16 const* buf, u32 n) = 0;

  protected:
    ~PortIo() = default;
};

// The machine's ports: the CPU's own in/out in the monitor.
PortIo& machine_ports();

}  // namespace tv
