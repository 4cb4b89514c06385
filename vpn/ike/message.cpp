#include "vpn/ike/message.hpp"

namespace tv::vpn::ike {

namespace {

bool known_type(u8 t) {
    return (t >= static_cast<u8>(Payload::SA) && t <= static_cast<u8>(Payload::EAP)) ||
           t == static_cast<u8>(Payload::SKF);
}

bool is_encrypted(u8 t) {
    return t == static_cast<u8>(Payload::SK) || t == static_cast<u8>(Payload::SKF);
}

}  // namespace

char const* to_string(ParseError e) {
    switch (e) {
        case ParseError::Ok:
            return "ok";
        case ParseError::Truncated:
            return "truncated";
        case ParseError::BadVersion:
            return "bad version";
        case ParseError::BadLength:
            return "bad length";
        case ParseError::TooManyPayloads:
            return "too many payloads";
        case ParseError::UnsupportedCritical:
            return "unsupported critical payload";
        case ParseError::BadOrder:
            return "encrypted payload not last";
        case ParseError::BadPayload:
            return "malformed payload";
    }
    return "?";
}

PayloadRef const* PayloadList::find(Payload t, unsigned nth) const {
    for (u8 i = 0; i < count; ++i)
        if (item[i].type == static_cast<u8>(t) && nth-- == 0)
            return &item[i];
    return nullptr;
}

ParseError parse_header(u8 const* msg, size_t len, Header& h) {
    if (len < kHeaderBytes)
        return ParseError::Truncated;
    h.spi_i = get64(msg);
    h.spi_r = get64(msg + 8);
    h.first = msg[16];
    h.version = msg[17];
    h.exchange = msg[18];
    h.flags = msg[19];
    h.msg_id = get32(msg + 20);
    h.length = get32(msg + 24);
    if ((h.version >> 4) != 2)
        return ParseError::BadVersion;
    if (h.length != len)
        return ParseError::BadLength;
    return ParseError::Ok;
}

ParseError parse_chain(u8 const* buf, size_t off, size_t end, u8 first, PayloadList& out) {
    out.count = 0;
    out.inner_first = 0;
    out.unknown_critical = 0;
    if (end > 0xffff || off > end)
        return ParseError::BadLength;
    u8 type = first;
    while (type != 0) {
        if (end - off < kGenericBytes)
            return ParseError::Truncated;
        u8 const next = buf[off];
        bool const critical = (buf[off + 1] & 0x80) != 0;
        u16 const plen = get16(buf + off + 2);
        if (plen < kGenericBytes || plen > end - off)
            return ParseError::BadLength;
        if (!known_type(type)) {
            if (critical) {
                out.unknown_critical = type;
                return ParseError::UnsupportedCritical;
            }
        } else {
            if (out.count == kMaxPayloads)
                return ParseError::TooManyPayloads;
            out.item[out.count++] = {type, static_cast<u16>(off + kGenericBytes),
                                     static_cast<u16>(plen - kGenericBytes)};
            if (is_encrypted(type)) {  // its next field names the first inner payload
                if (off + plen != end)
                    return ParseError::BadOrder;
                out.inner_first = next;
                return ParseError::Ok;
            }
        }
        off += plen;
        type = next;
    }
    return off == end ? ParseError::Ok : ParseError::BadLength;
}

ParseError parse_message(u8 const* msg, size_t len, Header& h, PayloadList& out) {
    ParseError e = parse_header(msg, len, h);
    if (e != ParseError::Ok)
        return e;
    return parse_chain(msg, kHeaderBytes, len, h.first, out);
}

void ChainBuilder::header(Header const& h) {
    w_.u64_(h.spi_i);
    w_.u64_(h.spi_r);
    w_.u8_(0);
    w_.u8_(kVersion);
    w_.u8_(h.exchange);
    w_.u8_(h.flags);
    w_.u32_(h.msg_id);
    w_.u32_(0);
    has_header_ = true;
    next_slot_ = 16;
}

size_t ChainBuilder::begin(Payload t, bool critical) {
    if (next_slot_ == SIZE_MAX)
        first_ = static_cast<u8>(t);
    else
        w_.patch8(next_slot_, static_cast<u8>(t));
    size_t const start = w_.pos();
    next_slot_ = start;
    w_.u8_(0);
    w_.u8_(critical ? 0x80 : 0);
    w_.u16_(0);
    return start;
}

void ChainBuilder::end(size_t start) {
    size_t const len = w_.pos() - start;
    if (len > 0xffff) {
        w_.take(SIZE_MAX);  // forces the overflow flag: a payload cannot be that long
        return;
    }
    w_.patch16(start + 2, static_cast<u16>(len));
}

size_t ChainBuilder::finish() {
    if (w_.overflow())
        return 0;
    if (has_header_) {
        u8* const len = w_.data() + 24;
        put32(len, static_cast<u32>(w_.pos()));
    }
    return w_.pos();
}

}  // namespace tv::vpn::ike
