#include "drivers/usb/host/usb_config.hpp"

namespace tv::usb::host {

namespace {

constexpr u8 kDescConfig = 2, kDescInterface = 4, kDescEndpoint = 5, kDescCcid = 0x21;

}  // namespace

char const* find_ccid_interface(u8 const* d, u32 len, CcidInterface& out) {
    out = CcidInterface{};
    if (d == nullptr || len < 9 || d[0] < 9 || d[1] != kDescConfig)
        return "not a configuration descriptor";
    u32 const total = static_cast<u32>(d[2] | d[3] << 8);
    if (total > len)
        return "configuration descriptor cut short";
    out.config_value = d[5];
    bool in_ccid = false;
    for (u32 at = d[0]; at < total;) {
        if (total - at < 2 || d[at] < 2 || d[at] > total - at)
            return "malformed descriptor in the configuration";
        u8 const dl = d[at], type = d[at + 1];
        u8 const* p = d + at;
        at += dl;
        if (type == kDescInterface && dl >= 9) {
            if (in_ccid)
                break;  // the CCID interface ended
            in_ccid = p[5] == kClassSmartCard && p[3] == 0;  // class, alternate setting 0
            out.interface = p[2];
        } else if (in_ccid && type == kDescCcid) {
            out.class_desc = p;
            out.class_len = dl;
        } else if (in_ccid && type == kDescEndpoint && dl >= 7 && (p[3] & 3) == 2) {  // bulk
            u16 const mps = static_cast<u16>((p[4] | p[5] << 8) & 0x7ff);
            if (p[2] & 0x80) {
                out.bulk_in = p[2];
                out.in_packet = mps;
            } else {
                out.bulk_out = p[2];
                out.out_packet = mps;
            }
        }
    }
    if (out.bulk_in == 0 && out.bulk_out == 0 && out.class_desc == nullptr)
        return "no smart-card (CCID) interface";
    if (out.bulk_in == 0 || out.bulk_out == 0 || out.in_packet == 0 || out.out_packet == 0)
        return "the CCID interface lacks a bulk endpoint";
    if (out.class_desc == nullptr)
        return "the CCID interface has no class descriptor";
    return nullptr;
}

}  // namespace tv::usb::host
