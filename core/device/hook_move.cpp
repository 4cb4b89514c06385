#include "core/device/hook_move.hpp"

namespace tv {

Status move_hook_pages(HookPages& h, u64 new_base, HookMoveSteps& steps) {
    u64 const first = align_down(new_base, kPageSize), end = align_up(new_base + h.size, kPageSize);
    if (end - first != h.page_end - h.page_base) return Status::Unsupported;
    if (Status const s = steps.take(first, end); !ok(s)) {
        steps.give_back(first, end);  // a half-done unmap
        return s;
    }
    // No CPU may reach the device's new place through a translation from before the take.
    steps.flush_all();
    steps.move_device();
    if (Status const s = steps.follow_window(h.page_base, first, end); !ok(s)) return s;
    u64 const old_first = h.page_base, old_end = h.page_end;
    h.base = new_base;
    h.page_base = first;
    h.page_end = end;
    steps.give_back(old_first, old_end);
    return Status::Ok;
}

}  // namespace tv
