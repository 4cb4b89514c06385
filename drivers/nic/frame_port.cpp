#include "drivers/nic/frame_port.hpp"

namespace tv::nic {
namespace {
constinit FramePort* g_port = nullptr;
}

FramePort* monitor_port() { return g_port; }
void set_monitor_port(FramePort* p) { g_port = p; }

Status FramePort::add_receiver(u16 ethertype, RxFn fn, void* ctx) {
    if (!fn) return Status::Invalid;
    for (u32 i = 0; i < rx_count_; ++i)
        if (rx_[i].ethertype == ethertype) return Status::Exists;
    if (rx_count_ == kMaxReceivers) return Status::NoMemory;
    rx_[rx_count_++] = Receiver{ethertype, fn, ctx};
    return Status::Ok;
}

void FramePort::deliver(u8 const* frame, size_t len) {
    if (len < 14) return;
    u16 const type = static_cast<u16>(frame[12] << 8 | frame[13]);
    Receiver const* fallback = nullptr;
    for (u32 i = 0; i < rx_count_; ++i) {
        if (rx_[i].ethertype == type) {
            rx_[i].fn(rx_[i].ctx, frame, len);
            return;
        }
        if (rx_[i].ethertype == 0) fallback = &rx_[i];
    }
    if (fallback) fallback->fn(fallback->ctx, frame, len);
}

}  // namespace tv::nic
