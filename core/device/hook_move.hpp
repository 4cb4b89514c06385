// The order in which an MMIO hook follows its device to a new place, so that no CPU ever
// reaches the device unmediated: the new pages are taken from the guest first, every CPU's
// nested TLB is flushed to completion, only then is the device moved, the monitor's window
// pointed at it, and the old pages given back. Pure (the steps are an interface), so the
// order is host-tested; core/mmio_hooks performs the steps.
#pragma once

#include "core/types.hpp"

namespace tv {

struct HookPages {
    u64 base, size;           // the claimed range
    u64 page_base, page_end;  // the pages unmapped for it
};

class HookMoveSteps {
  public:
    virtual Status take(u64 first, u64 end) = 0;      // unmap [first, end) from the guest
    virtual void give_back(u64 first, u64 end) = 0;   // map it back as it was (and merge)
    virtual void flush_all() = 0;                     // every CPU's nested TLB, complete on return
    virtual void move_device() = 0;                   // the device now decodes the new place
    virtual Status follow_window(u64 old_first, u64 first, u64 end) = 0;  // the monitor's pass-through

  protected:
    ~HookMoveSteps() = default;
};

// Moves h to new_base (already checked: allowed, same number of pages). On a failure before
// the device moved, nothing is left changed and the device is not moved.
[[nodiscard]] Status move_hook_pages(HookPages& h, u64 new_base, HookMoveSteps& steps);

}  // namespace tv
