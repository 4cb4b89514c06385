#include "aoe/frame.hpp"

#include <string.h>

namespace tv::aoe {

namespace {

void put16(u8* p, u16 v) {
    p[0] = static_cast<u8>(v >> 8);
    p[1] = static_cast<u8>(v);
}

void put32(u8* p, u32 v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<u8>(v >> (24 - 8 * i));
}

u16 get16(u8 const* p) { return static_cast<u16>(p[0] << 8 | p[1]); }

u32 get32(u8 const* p) {
    return u32{p[0]} << 24 | u32{p[1]} << 16 | u32{p[2]} << 8 | u32{p[3]};
}

// A frame may be longer than its content only by the padding up to the minimum frame size.
bool length_fits(size_t content, size_t len) {
    return len == content || (content < len && len <= kMinEthFrame);
}

size_t header_len(Command c) { return c == Command::Ata ? kAtaHeaderLen : kConfigHeaderLen; }

void write_arg(Frame const& f, u8* arg) {
    if (f.command == Command::Ata) {
        WireAtaArg a{};
        a.aflags = f.ata.aflags;
        a.err_feature = f.ata.err_feature;
        a.sector_count = f.ata.sector_count;
        a.cmd_status = f.ata.cmd_status;
        for (int i = 0; i < 6; ++i)
            a.lba[i] = static_cast<u8>(f.ata.lba >> (8 * i));
        memcpy(arg, &a, sizeof a);
        return;
    }
    WireConfigArg c{};
    put16(c.buffer_count, f.config.buffer_count);
    put16(c.firmware, f.config.firmware);
    c.sector_count = f.config.max_sectors;
    c.ver_ccmd = static_cast<u8>(f.config.aoe_version << 4 | (static_cast<u8>(f.config.ccmd) & 0xF));
    put16(c.string_len, static_cast<u16>(f.payload_len));
    memcpy(arg, &c, sizeof c);
}

void read_ata(u8 const* arg, Frame* out) {
    WireAtaArg a;
    memcpy(&a, arg, sizeof a);
    out->ata.aflags = a.aflags;
    out->ata.err_feature = a.err_feature;
    out->ata.sector_count = a.sector_count;
    out->ata.cmd_status = a.cmd_status;
    out->ata.lba = 0;
    for (int i = 0; i < 6; ++i)
        out->ata.lba |= u64{a.lba[i]} << (8 * i);
}

ParseResult read_ata_payload(u8 const* bytes, size_t len, Frame* out) {
    read_ata(bytes + kHeaderLen, out);
    size_t const data = len - kAtaHeaderLen;
    // Either whole sectors, or none plus minimum-frame padding.
    size_t const whole = data - data % kSectorSize;
    if (!length_fits(kAtaHeaderLen + whole, len))
        return ParseResult::BadLength;
    out->payload = whole != 0 ? bytes + kAtaHeaderLen : nullptr;
    out->payload_len = whole;
    return ParseResult::Ok;
}

ParseResult read_config_payload(u8 const* bytes, size_t len, Frame* out) {
    WireConfigArg c;
    memcpy(&c, bytes + kHeaderLen, sizeof c);
    out->config.buffer_count = get16(c.buffer_count);
    out->config.firmware = get16(c.firmware);
    out->config.max_sectors = c.sector_count;
    out->config.aoe_version = static_cast<u8>(c.ver_ccmd >> 4);
    out->config.ccmd = static_cast<ConfigCmd>(c.ver_ccmd & 0xF);
    out->config.string_len = get16(c.string_len);
    size_t const slen = out->config.string_len;
    if (slen > kMaxConfigString || !length_fits(kConfigHeaderLen + slen, len))
        return ParseResult::BadLength;
    out->payload = slen != 0 ? bytes + kConfigHeaderLen : nullptr;
    out->payload_len = slen;
    return ParseResult::Ok;
}

}  // namespace

Status build_frame(Frame const& f, u8* out, size_t cap, size_t* out_len) {
    if (f.command != Command::Ata && f.command != Command::QueryConfig)
        return Status::Invalid;
    if (f.command == Command::Ata &&
        (f.payload_len % kSectorSize != 0 || f.payload_len / kSectorSize > 0xFF))
        return Status::Invalid;
    if (f.command == Command::QueryConfig && f.payload_len > kMaxConfigString)
        return Status::Invalid;
    size_t const hlen = header_len(f.command);
    size_t const len = hlen + f.payload_len;
    size_t const padded = len < kMinEthFrame ? kMinEthFrame : len;
    if (out == nullptr || cap < padded)
        return Status::NoMemory;

    WireHeader h{};
    memcpy(h.dst, f.dst.b, 6);
    memcpy(h.src, f.src.b, 6);
    put16(h.ethertype, kEtherType);
    h.ver_flags = static_cast<u8>(kVersion << 4 | (f.flags & 0xF));
    h.error = f.error;
    put16(h.major, f.shelf);
    h.minor = f.slot;
    h.command = static_cast<u8>(f.command);
    put32(h.tag, f.tag);
    memcpy(out, &h, sizeof h);
    write_arg(f, out + kHeaderLen);
    if (f.payload_len != 0)
        memcpy(out + hlen, f.payload, f.payload_len);
    memset(out + len, 0, padded - len);
    *out_len = padded;
    return Status::Ok;
}

ParseResult parse_frame(u8 const* bytes, size_t len, Frame* out) {
    if (bytes == nullptr || len < 14)
        return ParseResult::Truncated;
    if (get16(bytes + 12) != kEtherType)
        return ParseResult::NotAoe;
    if (len < kHeaderLen)
        return ParseResult::Truncated;
    WireHeader h;
    memcpy(&h, bytes, sizeof h);
    // The common header is decoded before it is judged, so that a caller can still tell whom
    // a frame with an unknown command or version was meant for.
    *out = Frame{};
    memcpy(out->dst.b, h.dst, 6);
    memcpy(out->src.b, h.src, 6);
    out->version = static_cast<u8>(h.ver_flags >> 4);
    out->flags = static_cast<u8>(h.ver_flags & 0xF);
    out->error = h.error;
    out->shelf = get16(h.major);
    out->slot = h.minor;
    out->command = static_cast<Command>(h.command);
    out->tag = get32(h.tag);
    if (h.ver_flags >> 4 != kVersion)
        return ParseResult::BadVersion;
    if (out->command != Command::Ata && out->command != Command::QueryConfig)
        return ParseResult::UnknownCommand;
    if (len < header_len(out->command))
        return ParseResult::Truncated;
    return out->command == Command::Ata ? read_ata_payload(bytes, len, out)
                                        : read_config_payload(bytes, len, out);
}

}  // namespace tv::aoe
