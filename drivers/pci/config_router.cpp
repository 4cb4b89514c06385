#include "drivers/pci/config_hooks.hpp"

namespace tv::pci {

namespace {
constexpr u32 kConfigSpaceSize = 4096;
bool overlaps(u32 a, u32 a_len, u32 b, u32 b_len) { return a < b + b_len && b < a + a_len; }
}  // namespace

Status ConfigRouter::add(ConfigHook const& h) {
    if (h.count == 0 || h.first + u32{h.count} > kConfigSpaceSize || !h.fn) return Status::Invalid;
    for (size_t i = 0; i < n_; ++i)
        if (hooks_[i].bdf == h.bdf && overlaps(h.first, h.count, hooks_[i].first, hooks_[i].count)) return Status::Exists;
    if (n_ == kMaxHooks) return Status::NoMemory;
    hooks_[n_++] = h;
    return Status::Ok;
}

ConfigHook* ConfigRouter::find(Bdf b, u16 reg, u8 size) {
    for (size_t i = 0; i < n_; ++i)
        if (hooks_[i].bdf == b && overlaps(reg, size, hooks_[i].first, hooks_[i].count)) return &hooks_[i];
    return nullptr;
}

}  // namespace tv::pci
