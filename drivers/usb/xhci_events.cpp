// The monitor's event ring (xhci_controller.hpp): each event the device wrote is translated
// and pushed into the guest's ring, whenever the guest looks.
#include "drivers/usb/xhci_controller.hpp"

namespace tv::usb {

bool XhciController::translate(Trb* ev) {
    switch (trb_type(*ev)) {
    case TrbType::TransferEvent:
        return translate_transfer(ev);
    case TrbType::CommandCompletion:
        command_completed(ev);
        return true;
    case TrbType::PortStatusChange:
        if (port_event_hidden(*ev)) swallow_ = true;
        return true;
    case TrbType::BandwidthRequest:
    case TrbType::HostController:
    case TrbType::DeviceNotification:
    case TrbType::MfindexWrap:
        return true;
    default:
        return false;  // Doorbell events are for virtualization, which is not offered
    }
}

void XhciController::drain_events() {
    if (!taken_over_) return;
    bool moved = false;
    for (;;) {
        Trb const* at = event_trbs() + event_idx_;
        Trb ev = *at;
        if (trb_cycle(ev) != event_cycle_) break;
        if (guest_events_.loaded() && guest_events_.full()) break;  // held until the guest reads
        moved = true;
        if (++event_idx_ == kEventTrbs) {
            event_idx_ = 0;
            event_cycle_ = !event_cycle_;
        }
        ++counters_.events;
        swallow_ = false;
        bool const translated = translate(&ev);
        if (swallow_) continue;  // the monitor's own IOC (ring_endpoint): the guest never asked
        if (!translated || !guest_events_.push(env_->guest(), ev)) {
            ++counters_.events_dropped;
            env_->refused(trb_type_name(trb_type(ev)), "event not delivered to the guest");
        }
    }
    if (moved) {
        report_device_erdp(false);
        retry_stalled();
    }
}

// Rings whose TRBs waited for room: the events just drained may have made some.
void XhciController::retry_stalled() {
    if (commands_stalled_) ring_commands();
    for (u8 s = 1; s <= kMaxSlots; ++s) {
        u32 const st = slots_[s].stalled;
        for (u32 dci = 1; st && dci <= kMaxDci; ++dci)
            if (st >> dci & 1) ring_endpoint(s, static_cast<u8>(dci));
    }
}

}  // namespace tv::usb
