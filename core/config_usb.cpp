// thinvisor.conf [usb] values (core/config_usb.hpp).
#include "core/config_usb.hpp"

#include "core/config_values.hpp"

namespace tv::cfg {

namespace {

bool hex4(char const* p, u16* out) {
    u32 v = 0;
    for (u32 i = 0; i < 4; ++i) {
        char const c = p[i];
        u32 d;
        if (c >= '0' && c <= '9') d = static_cast<u32>(c - '0');
        else if (c >= 'a' && c <= 'f') d = static_cast<u32>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') d = static_cast<u32>(c - 'A' + 10);
        else return false;
        v = v << 4 | d;
    }
    *out = static_cast<u16>(v);
    return true;
}

}  // namespace

bool parse_usb_rule(Span v, UsbRule* out) {
    if (v.is("allow")) return *out = UsbRule::Allow, true;
    if (v.is("encrypt")) return *out = UsbRule::Encrypt, true;
    if (v.is("read-only")) return *out = UsbRule::ReadOnly, true;
    return v.is("deny") && (*out = UsbRule::Deny, true);
}

// VVVV:PPPP[:SERIAL] RULE: the serial is printable ASCII without spaces.
bool parse_usb_device(Span v, UsbConfig* usb) {
    if (usb->device_count == UsbConfig::kMaxDevices) return false;
    size_t id_end = 0;
    while (id_end < v.n && v.p[id_end] != ' ' && v.p[id_end] != '\t') ++id_end;
    Span const rule = trim(Span{v.p + id_end, v.n - id_end});
    UsbDeviceRule d{};
    if (id_end < 9 || v.p[4] != ':' || !hex4(v.p, &d.vendor) || !hex4(v.p + 5, &d.product)) return false;
    if (id_end > 9) {
        if (v.p[9] != ':' || id_end == 10) return false;
        for (size_t i = 10; i < id_end; ++i)
            if (v.p[i] < 0x21 || v.p[i] > 0x7E) return false;
        if (!copy_string(Span{v.p + 10, id_end - 10}, d.serial, sizeof d.serial)) return false;
    }
    if (!parse_usb_rule(rule, &d.rule)) return false;
    usb->devices[usb->device_count++] = d;
    return true;
}

}  // namespace tv::cfg
