// Which hook owns each I/O port, and one IN or OUT carried out through the owners. Pure (the
// real ports are behind PortBus), so the routing rules are host-tested; core/io_hooks is the
// monitor's registry and exit handler around it.
//
// A wide access (16 or 32 bits) covers 2 or 4 consecutive ports, and the backends' bitmaps
// make it exit when ANY of them is claimed (SVM's IOPM and VMX's I/O bitmaps both check the
// bit of every port the access touches). How it is carried out:
//  - no byte of it belongs to a hook other than the one owning its first port (bytes may be
//    unclaimed): it goes whole to that hook, or whole to the hardware when there is none. A
//    device's wide register (the IDE data port at 0x1F0 read 32 bits at a time) stays one
//    access, and unclaimed bytes reach the hardware as they would without the monitor.
//  - otherwise it is split into bytes, lowest port first, and each byte goes to its own
//    owner: its hook, or the real port when the byte is unclaimed. This is what a PC chipset
//    (and QEMU) does with an access that spans registers of different widths: a 16-bit OUT to
//    0x1F6 is a write of 0x1F6 and one of 0x1F7. So the IDE command byte in that word reaches
//    the command hook, never the device unmediated.
// Ports past 0xFFFF (an access at 0xFFFF wider than a byte) are never the hardware's to
// decode in a split: their bytes read as 0xFF and writes to them are dropped.
#pragma once

#include <stddef.h>

#include "core/device/device.hpp"
#include "core/exit_record.hpp"
#include "core/vcpu.hpp"

namespace tv {

enum class IoAction : u8 {
    PassThrough,  // perform the access on the real port (value may have been changed for OUT)
    Handled,      // done; for IN, *value is what the guest reads
};

// For OUT, *value holds the guest's data on entry. io.size may be 1 even when the guest used
// a wider instruction: a split hands the hook one byte of it.
using IoHandler = IoAction (*)(void* ctx, Vcpu& v, IoExit const& io, u32* value);

// The real ports.
class PortBus {
  public:
    virtual u32 in(u16 port, u8 size) = 0;
    virtual void out(u16 port, u8 size, u32 value) = 0;

  protected:
    ~PortBus() = default;
};

struct PortHook {
    u16 first, count;
    IoHandler fn;
    void* ctx;
    char const* name;
    Device* device;  // the hook and its pass-through run under this device's lock
    u64 calls;
};

class PortRouter {
  public:
    static constexpr size_t kMaxHooks = 32;

    // Invalid for an empty range, a range past 0xFFFF, no handler or no device; Exists when
    // a port is already claimed; NoMemory when full.
    [[nodiscard]] Status add(PortHook const& h);
    PortHook* find(u32 port);
    size_t count() const { return n_; }
    PortHook const& at(size_t i) const { return hooks_[i]; }

    // One IN or OUT element as the guest issued it (the string path calls it per element).
    // value: the guest's data for OUT. Returns what the guest reads for IN (masked to the
    // size). *handled: set when any hook emulated (part of) the access.
    u32 access(Vcpu& v, IoExit const& io, u32 value, PortBus& bus, bool* handled);

    // Whether the access is carried out byte by byte (see above).
    bool splits(u16 port, u8 size);

  private:
    u32 deliver(Vcpu& v, PortHook* h, IoExit const& io, u32 value, PortBus& bus, bool* handled);

    PortHook hooks_[kMaxHooks]{};
    size_t n_{0};
};

}  // namespace tv
