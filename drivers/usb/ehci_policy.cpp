// The EHCI mediator's fail-closed rule (ehci_policy.hpp).
#include "drivers/usb/ehci_policy.hpp"

namespace tv::usb {

char const* ehci_config_refusal(Config const* cfg) {
    if (!cfg) return nullptr;
    for (u32 i = 0; i < cfg->disk_count; ++i)
        if (cfg->disks[i].bus == DiskBus::Usb) return "a [disk] entry with bus = usb needs the mass-storage path";
    if (cfg->usb.present && cfg->usb.storage != UsbRule::Allow) return "[usb] storage needs the mass-storage path";
    // A signed file-protection policy may name sticks (bus usb): their writes are judged at
    // each CBW, which EHCI does not see yet.
    if (cfg->policy.present) return "a [policy] may protect files on sticks, judged on the mass-storage path";
    for (u32 i = 0; i < cfg->usb.device_count && i < UsbConfig::kMaxDevices; ++i)
        if (cfg->usb.devices[i].rule != UsbRule::Allow) return "a [usb] device rule needs the mass-storage path";
    return nullptr;
}

}  // namespace tv::usb
