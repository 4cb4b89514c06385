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

bool ConfigRouter::route(Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value, ConfigBus& bus) {
    ConfigHook* h = find(b, reg, size);
    if (!h || !h->device) return false;
    __atomic_fetch_add(&h->hits, 1, __ATOMIC_RELAXED);
    DeviceGuard guard(*h->device);
    if (!write) *value = 0;
    if (h->fn(h->ctx, v, b, reg, size, write, value) == ConfigAction::Handled) return true;
    if (write) bus.write(b, reg, size, *value);
    else *value = bus.read(b, reg, size);
    return true;
}

ConfigHook* ConfigRouter::find(Bdf b, u16 reg, u8 size) {
    for (size_t i = 0; i < n_; ++i)
        if (hooks_[i].bdf == b && overlaps(reg, size, hooks_[i].first, hooks_[i].count)) return &hooks_[i];
    return nullptr;
}

}  // namespace tv::pci
