// Encoders for the payloads this initiator sends.
#include "vpn/ike/payloads.hpp"

namespace tv::vpn::ike {

namespace {

// Transform substructure (§3.3.2); `last` marks the final transform of the proposal.
void add_transform(Writer& w, bool last, u8 type, u16 id, u16 key_bits) {
    w.u8_(last ? 0 : 3);
    w.u8_(0);
    w.u16_(key_bits != 0 ? 12 : 8);
    w.u8_(type);
    w.u8_(0);
    w.u16_(id);
    if (key_bits != 0) {
        w.u16_(0x8000 | transform::kAttrKeyLength);
        w.u16_(key_bits);
    }
}

}  // namespace

void add_sa(ChainBuilder& cb, Offer const& o) {
    size_t const p = cb.begin(Payload::SA);
    Writer& w = cb.w();
    size_t const prop = w.pos();
    bool const ike = o.proto == Protocol::Ike;
    struct T {
        u8 type;
        u16 id;
        u16 bits;
    } t[8];
    u8 n = 0;
    for (u16 bits : o.key_bits)
        if (bits != 0)
            t[n++] = {transform::kEncr, transform::kEncrAesGcm16, bits};
    if (ike) {
        t[n++] = {transform::kPrf, transform::kPrfHmacSha256, 0};
        for (u16 g : o.groups)
            if (g != 0)
                t[n++] = {transform::kDh, g, 0};
    } else {
        t[n++] = {transform::kEsn, transform::kEsnNone, 0};
    }
    w.u8_(0);  // last proposal
    w.u8_(0);
    w.u16_(0);  // length, patched below
    w.u8_(1);   // proposal number
    w.u8_(static_cast<u8>(o.proto));
    w.u8_(ike ? (o.spi != 0 ? 8 : 0) : 4);
    w.u8_(n);
    if (!ike)
        w.u32_(static_cast<u32>(o.spi));
    else if (o.spi != 0)
        w.u64_(o.spi);
    for (u8 i = 0; i < n; ++i)
        add_transform(w, i + 1 == n, t[i].type, t[i].id, t[i].bits);
    w.patch16(prop + 2, static_cast<u16>(w.pos() - prop));
    cb.end(p);
}

void add_ke(ChainBuilder& cb, u16 group, u8 const* data, size_t len) {
    size_t const p = cb.begin(Payload::KE);
    cb.w().u16_(group);
    cb.w().u16_(0);
    cb.w().bytes(data, len);
    cb.end(p);
}

void add_nonce(ChainBuilder& cb, u8 const* n, size_t len) {
    size_t const p = cb.begin(Payload::Nonce);
    cb.w().bytes(n, len);
    cb.end(p);
}

void add_id(ChainBuilder& cb, Payload which, u8 type, u8 const* data, size_t len) {
    size_t const p = cb.begin(which);
    cb.w().u8_(type);
    cb.w().u8_(0);
    cb.w().u16_(0);
    cb.w().bytes(data, len);
    cb.end(p);
}

void add_auth(ChainBuilder& cb, u8 method, u8 const* data, size_t len) {
    size_t const p = cb.begin(Payload::AUTH);
    cb.w().u8_(method);
    cb.w().u8_(0);
    cb.w().u16_(0);
    cb.w().bytes(data, len);
    cb.end(p);
}

void add_cert(ChainBuilder& cb, Payload which, u8 encoding, u8 const* data, size_t len) {
    size_t const p = cb.begin(which);
    cb.w().u8_(encoding);
    cb.w().bytes(data, len);
    cb.end(p);
}

void add_notify(ChainBuilder& cb, Protocol proto, u16 type, u8 const* data, size_t len) {
    size_t const p = cb.begin(Payload::Notify);
    cb.w().u8_(static_cast<u8>(proto));
    cb.w().u8_(0);  // no SPI
    cb.w().u16_(type);
    cb.w().bytes(data, len);
    cb.end(p);
}

void add_notify_spi(ChainBuilder& cb, u32 esp_spi, u16 type) {
    size_t const p = cb.begin(Payload::Notify);
    cb.w().u8_(static_cast<u8>(Protocol::Esp));
    cb.w().u8_(4);
    cb.w().u16_(type);
    cb.w().u32_(esp_spi);
    cb.end(p);
}

void add_delete(ChainBuilder& cb, Protocol proto, u32 const* esp_spis, u16 count) {
    size_t const p = cb.begin(Payload::Delete);
    bool const ike = proto == Protocol::Ike;
    cb.w().u8_(static_cast<u8>(proto));
    cb.w().u8_(ike ? 0 : 4);
    cb.w().u16_(ike ? 0 : count);
    for (u16 i = 0; !ike && i < count; ++i)
        cb.w().u32_(esp_spis[i]);
    cb.end(p);
}

void add_ts(ChainBuilder& cb, Payload which, Ts4 const* ts, u8 count) {
    size_t const p = cb.begin(which);
    Writer& w = cb.w();
    w.u8_(count);
    w.u8_(0);
    w.u16_(0);
    for (u8 i = 0; i < count; ++i) {
        w.u8_(kTsIpv4Range);
        w.u8_(ts[i].ip_proto);
        w.u16_(16);
        w.u16_(ts[i].port_lo);
        w.u16_(ts[i].port_hi);
        w.bytes(ts[i].lo, 4);
        w.bytes(ts[i].hi, 4);
    }
    cb.end(p);
}

void add_cp_request(ChainBuilder& cb) {
    size_t const p = cb.begin(Payload::CP);
    Writer& w = cb.w();
    w.u8_(cp::kRequest);
    w.u8_(0);
    w.u16_(0);
    w.u16_(cp::kInternalIp4Address);
    w.u16_(0);
    w.u16_(cp::kInternalIp4Dns);
    w.u16_(0);
    cb.end(p);
}

}  // namespace tv::vpn::ike
