#include "drivers/usb/host/usb_host.hpp"

#include "core/clock.hpp"

namespace tv::usb::host {

// QEMU 7.2's emulated card (ccid-card-emulated) hands each command to its card thread with a
// condition-variable signal that carries no predicate: a command that arrives before the thread
// is back in its wait is never processed, and the reader answers nothing until a USB reset
// (seen in make test: 1 boot in 3 on a loaded 2-core host lost the answer to a VERIFY or a GET
// RESPONSE). The thread gets there right after it posts the previous answer unless the host
// preempts it, so a pause after each answer closes the window on an emulated card and costs a
// real card's unlock well under a second (about 40 commands).
constexpr u64 kCommandGapUs = 20'000;

bool HostBulkPipe::bulk_out(u8 const* data, u32 len) {
    u32 got = 0;
    if (last_in_us_ != 0) {
        u64 const since = clock_us() - last_in_us_;
        if (since < kCommandGapUs)
            clock_delay_us(kCommandGapUs - since);
    }
    return host_.bulk(dev_, out_, const_cast<u8*>(data), len, got, 1'000'000) && got == len;
}

bool HostBulkPipe::bulk_in(u8* buf, u32 cap, u32& got) {
    // Generous: a real card's RSA takes a second or two, and QEMU's emulated card (NSS in its
    // own thread) was seen to need more than 5 s on a loaded machine.
    bool const ok = host_.bulk(dev_, in_, buf, cap, got, 30'000'000);
    if (ok)
        last_in_us_ = clock_us();
    return ok;
}

}  // namespace tv::usb::host
