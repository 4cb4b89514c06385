#include "drivers/usb/host/usb_enum.hpp"

#include <stdio.h>

namespace tv::usb::host {

namespace {

constexpr u8 kDescDevice = 1, kDescHub = 0x29;
constexpr u32 kResetPolls = 50, kResetPollUs = 10'000;  // a hub ends a port reset within 10-20 ms
constexpr u32 kDebounceUs = 100'000;                     // USB 2.0 7.1.7.3: connect debounce

u8 lo(u32 v) { return static_cast<u8>(v); }
u8 hi(u32 v) { return static_cast<u8>(v >> 8); }

bool hub_request(UsbHost& host, UsbDevice const& hub, u8 request, u16 feature, u8 port) {
    u8 const setup[8] = {0x23, request, lo(feature), hi(feature), port, 0, 0, 0};
    u32 got = 0;
    return host.control(hub, setup, nullptr, 0, got);
}

bool port_status(UsbHost& host, UsbDevice const& hub, u8 port, u16& status, u16& change) {
    u8 const setup[8] = {0xa3, kHubGetStatus, 0, 0, port, 0, 4, 0};
    u8 buf[4] = {};
    u32 got = 0;
    if (!host.control(hub, setup, buf, 4, got) || got < 4)
        return false;
    status = static_cast<u16>(buf[0] | buf[1] << 8);
    change = static_cast<u16>(buf[2] | buf[3] << 8);
    return true;
}

void say(UsbHost& host, UsbDevice const& dev, char const* what) {
    char path[24];
    port_path(dev, path, sizeof path);
    char line[160];
    snprintf(line, sizeof line, "card: USB %s port %s: %s", host.name(), path, what);
    host.note(line);
}

// The whole configuration descriptor (at most kMaxConfig bytes) into cfg; its length or 0.
u32 read_config(UsbHost& host, UsbDevice const& dev, u8* cfg) {
    u8 const get9[8] = {0x80, 6, 0, 2, 0, 0, 9, 0};
    u32 got = 0;
    if (!host.control(dev, get9, cfg, 9, got) || got < 9)
        return 0;
    u32 total = static_cast<u32>(cfg[2] | cfg[3] << 8);
    total = total > kMaxConfig ? kMaxConfig : total;
    if (total < 9)
        return 0;
    u8 const get[8] = {0x80, 6, 0, 2, 0, 0, lo(total), hi(total)};
    if (!host.control(dev, get, cfg, total, got) || got < total)
        return 0;
    return total;
}

bool is_hub(UsbHost& host, UsbDevice const& dev, u8 const* cfg, u32 len) {
    u8 d[18] = {};
    u8 const get[8] = {0x80, 6, 0, kDescDevice, 0, 0, 18, 0};
    u32 got = 0;
    if (host.control(dev, get, d, sizeof d, got) && got >= 8 && d[1] == kDescDevice && d[4] == kClassHub)
        return true;
    // Some hubs say so only in their interface (class 0 in the device descriptor).
    for (u32 at = cfg[0]; at + 9 <= len && cfg[at] >= 2; at += cfg[at])
        if (cfg[at + 1] == 4)
            return cfg[at + 5] == kClassHub;
    return false;
}

bool probe(UsbHost& host, UsbDevice const& dev, FoundReader& out);

// Resets hub port p and enumerates what is behind it.
bool probe_hub_port(UsbHost& host, UsbDevice const& hub, u8 p, FoundReader& out) {
    u16 status = 0, change = 0;
    if (!port_status(host, hub, p, status, change) || (status & kPortStatConnection) == 0)
        return false;
    if (!hub_request(host, hub, kHubSetFeature, kPortReset, p))
        return false;
    bool reset_done = false;
    for (u32 i = 0; i < kResetPolls && !reset_done; ++i) {
        host.delay_us(kResetPollUs);
        reset_done = port_status(host, hub, p, status, change) && (change & kPortChangeReset) != 0;
    }
    (void)hub_request(host, hub, kHubClearFeature, kCPortReset, p);
    (void)hub_request(host, hub, kHubClearFeature, kCPortConnection, p);
    (void)hub_request(host, hub, kHubClearFeature, kCPortEnable, p);
    UsbDevice child = child_of(hub, p, hub_port_speed(status, hub.speed));
    if (!reset_done || (status & kPortStatEnable) == 0) {
        say(host, child, "the hub port does not come out of reset");
        return false;
    }
    host.delay_us(kResetPollUs);  // USB 2.0 7.1.7.5: reset recovery
    if (!host.attach_child(child)) {
        say(host, child, "the device behind the hub cannot be addressed");
        return false;
    }
    return probe(host, child, out);
}

bool probe_hub(UsbHost& host, UsbDevice& hub, u8 config_value, FoundReader& out) {
    if (hub.depth >= kMaxHubDepth) {
        say(host, hub, "a hub deeper than the enumeration follows");
        return false;
    }
    u8 const set_cfg[8] = {0x00, 9, config_value, 0, 0, 0, 0, 0};
    u8 const get_desc[8] = {0xa0, kHubGetDescriptor, 0, kDescHub, 0, 0, 71, 0};
    u8 d[71] = {};
    u32 got = 0;
    HubDescriptor hd;
    if (!host.control(hub, set_cfg, nullptr, 0, got) || !host.control(hub, get_desc, d, sizeof d, got) ||
        !parse_hub_descriptor(d, got, hd) || !host.set_hub(hub, hd.ports, false)) {
        say(host, hub, "the hub cannot be configured");
        return false;
    }
    hub.hub_ports = hd.ports;
    char line[64];
    snprintf(line, sizeof line, "hub with %u ports", hd.ports);
    say(host, hub, line);
    for (u8 p = 1; p <= hd.ports; ++p)
        (void)hub_request(host, hub, kHubSetFeature, kPortPower, p);
    u32 const settle = u32{hd.power_on_ms} * 1000u;
    host.delay_us(settle > kDebounceUs ? settle : kDebounceUs);
    for (u8 p = 1; p <= hd.ports; ++p)
        if (probe_hub_port(host, hub, p, out))
            return true;
    return false;
}

bool probe(UsbHost& host, UsbDevice const& dev, FoundReader& out) {
    u32 const total = read_config(host, dev, out.cfg);
    if (total == 0) {
        say(host, dev, "its configuration descriptor cannot be read");
        return false;
    }
    if (is_hub(host, dev, out.cfg, total)) {
        UsbDevice hub = dev;
        return probe_hub(host, hub, out.cfg[5], out);
    }
    if (char const* why = find_ccid_interface(out.cfg, total, out.ccid)) {
        say(host, dev, why);
        return false;
    }
    if (char const* why = card::ccid_parse_class_descriptor(out.ccid.class_desc, out.ccid.class_len, out.info)) {
        say(host, dev, why);
        return false;
    }
    u8 const set_cfg[8] = {0x00, 9, out.ccid.config_value, 0, 0, 0, 0, 0};
    u32 got = 0;
    if (!host.control(dev, set_cfg, nullptr, 0, got) ||
        !host.configure_bulk(dev, out.ccid.bulk_in, out.ccid.in_packet, out.ccid.bulk_out, out.ccid.out_packet)) {
        say(host, dev, "the CCID reader cannot be configured");
        return false;
    }
    out.dev = dev;
    return true;
}

}  // namespace

bool parse_hub_descriptor(u8 const* d, u32 len, HubDescriptor& out) {
    out = HubDescriptor{};
    if (d == nullptr || len < 7 || d[0] < 7 || d[1] != kDescHub || d[2] == 0)
        return false;
    out.ports = d[2] > 15 ? 15 : d[2];  // the route string's 4 bits a tier
    u32 const ms = u32{d[5]} * 2u;
    out.power_on_ms = static_cast<u8>(ms > 255 ? 255 : ms);
    return true;
}

UsbSpeed hub_port_speed(u16 status, UsbSpeed hub_speed) {
    if (status & kPortStatLowSpeed)
        return UsbSpeed::Low;
    if ((status & kPortStatHighSpeed) && hub_speed == UsbSpeed::High)
        return UsbSpeed::High;
    return UsbSpeed::Full;
}

UsbDevice child_of(UsbDevice const& hub, u8 port, UsbSpeed speed) {
    UsbDevice c;
    c.port = hub.port;
    c.speed = speed;
    c.depth = static_cast<u8>(hub.depth + 1);
    c.route = hub.route | (u32{port & 0xfu} << (4 * hub.depth));
    if (speed == UsbSpeed::High) {
        // a high-speed device needs no translator
    } else if (hub.speed == UsbSpeed::High) {
        c.tt_hub = hub.slot;
        c.tt_port = port;
        c.tt_multi = false;  // the hub's alternate setting 0: one TT for all ports
    } else {
        c.tt_hub = hub.tt_hub;  // behind a full-speed hub: the translator above it, if any
        c.tt_port = hub.tt_port;
        c.tt_multi = hub.tt_multi;
    }
    return c;
}

void port_path(UsbDevice const& dev, char* out, u32 cap) {
    int n = snprintf(out, cap, "%u", dev.port);
    for (u8 t = 0; t < dev.depth && n > 0 && static_cast<u32>(n) < cap; ++t)
        n += snprintf(out + n, cap - static_cast<u32>(n), ".%u", (dev.route >> (4 * t)) & 0xfu);
}

bool find_reader(UsbHost& host, FoundReader& out) {
    for (u32 port = 1; port <= host.ports() && port <= 255; ++port) {
        UsbDevice dev;
        if (host.attach(static_cast<u8>(port), dev) && probe(host, dev, out))
            return true;
    }
    return false;
}

}  // namespace tv::usb::host
