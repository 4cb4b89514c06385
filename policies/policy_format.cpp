#include "policies/policy_format.hpp"

#include <string.h>

namespace tv::policy {

namespace {

PolicyRange const& raw_range(u8 const* ranges, u32 i) {
    return *reinterpret_cast<PolicyRange const*>(ranges + u64{i} * sizeof(PolicyRange));
}

bool zero(u8 const* p, u64 n) {
    for (u64 i = 0; i < n; ++i)
        if (p[i]) return false;
    return true;
}

bool valid_action(u8 a) { return a >= static_cast<u8>(Action::Protect) && a <= static_cast<u8>(Action::Discard); }

// Every path is 1..kMaxPathLen printable bytes followed by a NUL, and the table ends with one.
bool paths_valid(char const* p, u32 n) {
    if (n == 0 || p[n - 1] != 0) return false;
    u32 len = 0;
    for (u32 i = 0; i < n; ++i) {
        u8 const c = static_cast<u8>(p[i]);
        if (c == 0) {
            if (len == 0) return false;
            len = 0;
        } else if (c < 0x20 || c == 0x7F || ++len > kMaxPathLen) {
            return false;
        }
    }
    return true;
}

ParseError header(PolicyHeader const& h, PolicyView& out) {
    if (memcmp(h.magic, kMagic, sizeof kMagic) != 0) return ParseError::Magic;
    if (h.format_version.get() != kFormatVersion) return ParseError::Format;
    if (h.bus > static_cast<u8>(PolicyBus::Usb) || !zero(h.reserved, sizeof h.reserved)) return ParseError::Field;
    if (h.serial_len == 0 || h.serial_len > sizeof h.serial) return ParseError::Field;
    if (!zero(reinterpret_cast<u8 const*>(h.serial) + h.serial_len, sizeof h.serial - h.serial_len)) return ParseError::Field;
    // The serial as storage::DiskId holds it: trimmed, printable; make_serial would trim, so
    // a serial that changes under it is not the canonical one.
    if (!ok(crypto::make_serial(h.serial, h.serial_len, out.serial)) || out.serial.len != h.serial_len)
        return ParseError::Field;
    if (h.policy_version.get() == 0) return ParseError::Field;
    u32 const n = h.range_count.get(), pb = h.path_bytes.get();
    if (n == 0 || n > kMaxRanges || pb == 0 || pb > kMaxPathBytes) return ParseError::Field;
    out.bus = static_cast<PolicyBus>(h.bus);
    out.version = h.policy_version.get();
    out.range_count = n;
    out.path_bytes = pb;
    return ParseError::None;
}

ParseError ranges(PolicyView const& v) {
    u64 end = 0;
    for (u32 i = 0; i < v.range_count; ++i) {
        PolicyRange const& r = raw_range(v.ranges, i);
        if (!valid_action(r.action) || !zero(r.reserved, sizeof r.reserved)) return ParseError::Field;
        u64 const off = r.offset.get(), len = r.length.get();
        if (len == 0 || off > kMaxDiskBytes || len > kMaxDiskBytes - off) return ParseError::Order;
        if (i > 0 && off < end) return ParseError::Order;
        end = off + len;
        u32 const p = r.path_offset.get();
        if (p >= v.path_bytes || (p > 0 && v.paths[p - 1] != 0)) return ParseError::Path;
    }
    return ParseError::None;
}

}  // namespace

char const* policy_bus_name(PolicyBus b) {
    switch (b) {
        case PolicyBus::Ata: return "ata";
        case PolicyBus::Aoe: return "aoe";
        case PolicyBus::Usb: return "usb";
    }
    return "?";
}

char const* action_name(Action a) {
    switch (a) {
        case Action::Protect: return "protect";
        case Action::AppendOnly: return "append-only";
        case Action::Audit: return "audit";
        case Action::Discard: return "discard";
    }
    return "?";
}

char const* parse_error_name(ParseError e) {
    switch (e) {
        case ParseError::None: return "ok";
        case ParseError::Short: return "truncated";
        case ParseError::Long: return "trailing bytes or too large";
        case ParseError::Magic: return "not a policy (magic)";
        case ParseError::Format: return "unknown format version";
        case ParseError::Field: return "bad header or range field";
        case ParseError::Order: return "ranges unsorted, overlapping, empty or past the disk's end";
        case ParseError::Path: return "bad path table";
    }
    return "?";
}

ParseError parse_policy(u8 const* bytes, u64 len, PolicyView& out) {
    out = PolicyView{};
    if (len < sizeof(PolicyHeader)) return ParseError::Short;
    if (len > kMaxPolicyBytes) return ParseError::Long;
    PolicyView v{};
    ParseError e = header(*reinterpret_cast<PolicyHeader const*>(bytes), v);
    if (e != ParseError::None) return e;
    // Bounded by the caps above: no overflow in u64.
    u64 const body = sizeof(PolicyHeader) + u64{v.range_count} * sizeof(PolicyRange) + v.path_bytes;
    if (len < body + kSignatureBytes) return ParseError::Short;
    if (len > body + kSignatureBytes) return ParseError::Long;
    v.ranges = bytes + sizeof(PolicyHeader);
    v.paths = reinterpret_cast<char const*>(v.ranges + u64{v.range_count} * sizeof(PolicyRange));
    if (!paths_valid(v.paths, v.path_bytes)) return ParseError::Path;
    e = ranges(v);
    if (e != ParseError::None) return e;
    v.signed_bytes = bytes;
    v.signed_len = body;
    v.signature = bytes + body;
    out = v;
    return ParseError::None;
}

}  // namespace tv::policy
