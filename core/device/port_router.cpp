#include "core/device/port_router.hpp"

namespace tv {

namespace {
u32 size_mask(u8 size) { return size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu; }
constexpr u32 kPortLimit = 0x10000;
}  // namespace

Status PortRouter::add(PortHook const& h) {
    if (h.count == 0 || u32{h.first} + h.count > kPortLimit || !h.fn || !h.device) return Status::Invalid;
    for (u32 p = h.first; p < u32{h.first} + h.count; ++p)
        if (find(p)) return Status::Exists;
    if (n_ == kMaxHooks) return Status::NoMemory;
    hooks_[n_] = h;
    hooks_[n_].calls = 0;
    ++n_;
    return Status::Ok;
}

PortHook* PortRouter::find(u32 port) {
    for (size_t i = 0; i < n_; ++i)
        if (port >= hooks_[i].first && port - hooks_[i].first < hooks_[i].count) return &hooks_[i];
    return nullptr;
}

bool PortRouter::splits(u16 port, u8 size) {
    PortHook const* const first = find(port);
    for (u32 i = 1; i < size; ++i) {
        PortHook const* const h = find(u32{port} + i);
        if (h && h != first) return true;
        if (u32{port} + i >= kPortLimit && (first || h)) return true;
    }
    return false;
}

// The hook (under its device's lock, with the pass-through it may ask for), or the port.
u32 PortRouter::deliver(Vcpu& v, PortHook* h, IoExit const& io, u32 value, PortBus& bus, bool* handled) {
    u32 const mask = size_mask(io.size);
    if (!h) {
        if (io.in) return bus.in(io.port, io.size) & mask;
        bus.out(io.port, io.size, value & mask);
        return 0;
    }
    DeviceGuard guard(*h->device);
    __atomic_fetch_add(&h->calls, 1, __ATOMIC_RELAXED);
    if (io.in) value = 0;
    if (h->fn(h->ctx, v, io, &value) == IoAction::Handled) {
        *handled = true;
        return io.in ? value & mask : 0;
    }
    if (io.in) return bus.in(io.port, io.size) & mask;
    bus.out(io.port, io.size, value & mask);
    return 0;
}

u32 PortRouter::access(Vcpu& v, IoExit const& io, u32 value, PortBus& bus, bool* handled) {
    if (!splits(io.port, io.size)) return deliver(v, find(io.port), io, value, bus, handled);
    u32 result = 0;
    for (u32 i = 0; i < io.size; ++i) {
        u32 const port = u32{io.port} + i;
        u32 byte = 0xFF;
        if (port < kPortLimit) {
            IoExit one = io;
            one.port = static_cast<u16>(port);
            one.size = 1;
            byte = deliver(v, find(port), one, (value >> (8 * i)) & 0xFF, bus, handled);
        }
        result |= (byte & 0xFF) << (8 * i);
    }
    return io.in ? result : 0;
}

}  // namespace tv
