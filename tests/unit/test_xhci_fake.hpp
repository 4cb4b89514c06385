// The xHCI tests' guest memory: [0, kRam) is guest RAM except the monitor's hidden range, and
// helpers that lay TRBs, links and contexts into it.
#pragma once

#include <string.h>

#include <vector>

#include "drivers/usb/xhci_ring.hpp"
#include "tests/unit/fake_guest_ram.hpp"

namespace tv::usb::test {

inline constexpr u64 kRam = 1u << 20;
inline constexpr u64 kHiddenBase = 0x80000, kHiddenEnd = 0x90000;

class FakeGuest final : public GuestView {
  public:
    FakeGuest() : ram(kRam) {}
    bool ok(Gpa gpa, u64 len) const override {
        return fakes::in_guest_ram(gpa.raw, len, kRam, kHiddenBase, kHiddenEnd);
    }
    bool read(Gpa gpa, void* dst, u64 len) const override {
        ++reads;
        if (!ok(gpa, len)) return false;
        memcpy(dst, ram.data() + gpa.raw, len);
        return true;
    }
    bool write(Gpa gpa, void const* src, u64 len) const override {
        if (!ok(gpa, len)) return false;
        memcpy(const_cast<u8*>(ram.data()) + gpa.raw, src, len);
        return true;
    }

    Trb& trb(u64 gpa) { return *reinterpret_cast<Trb*>(ram.data() + gpa); }
    // A TRB of `type` at gpa with the given cycle bit.
    Trb& put(u64 gpa, TrbType type, bool cycle, u64 param = 0, u32 status = 0, u32 flags = 0) {
        Trb& t = trb(gpa);
        t = Trb{param, status, flags};
        set_trb_type(t, type);
        set_trb_cycle(t, cycle);
        return t;
    }
    Trb& link(u64 gpa, u64 target, bool cycle, bool toggle) {
        return put(gpa, TrbType::Link, cycle, target, 0, toggle ? kTrbToggleCycle : 0);
    }

    std::vector<u8> ram;
    mutable u64 reads{0};
};

}  // namespace tv::usb::test
