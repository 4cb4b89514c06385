// Decoders for the payload bodies a responder sends. Each checks every length against the
// body it sits in before it reads behind it.
#include "vpn/ike/payloads.hpp"

namespace tv::vpn::ike {

namespace {

constexpr ParseError kBad = ParseError::BadPayload;

// One transform (§3.3.2) at t[0..tlen): records it in `out` (each type at most once).
ParseError take_transform(u8 const* t, size_t tlen, Chosen& out, u8& seen) {
    u8 const type = t[4];
    u16 const id = get16(t + 6);
    u16 key_bits = 0;
    for (size_t a = 8; a < tlen;) {  // attributes
        if (tlen - a < 4)
            return kBad;
        u16 const at = get16(t + a);
        if ((at & 0x8000) == 0)  // TLV: no such attribute is defined for the transforms we offer
            return kBad;
        if ((at & 0x7fff) != transform::kAttrKeyLength || key_bits != 0)
            return kBad;
        key_bits = get16(t + a + 2);
        a += 4;
    }
    if (type < transform::kEncr || type > transform::kEsn)
        return kBad;
    u8 const bit = static_cast<u8>(1u << type);
    if ((seen & bit) != 0)
        return kBad;  // a reply carries one transform of each type
    seen |= bit;
    switch (type) {
        case transform::kEncr:
            out.encr = id;
            out.key_bits = key_bits;
            break;
        case transform::kPrf:
            out.prf = id;
            break;
        case transform::kInteg:
            out.integ = id;
            break;
        case transform::kDh:
            out.dh = id;
            break;
        default:
            out.esn = id;
            out.has_esn = true;
            break;
    }
    return key_bits != 0 && type != transform::kEncr ? kBad : ParseError::Ok;
}

}  // namespace

ParseError decode_sa_reply(u8 const* body, size_t len, Chosen& out) {
    out = {};
    if (len < 8)
        return ParseError::Truncated;
    u16 const plen = get16(body + 2);
    // A reply holds exactly one proposal: "last" set, and its length is the whole body.
    if (body[0] != 0 || plen != len)
        return kBad;
    out.proto = static_cast<Protocol>(body[5]);
    out.spi_len = body[6];
    u8 const ntrans = body[7];
    if (out.spi_len > sizeof out.spi || 8u + out.spi_len > len)
        return kBad;
    for (u8 i = 0; i < out.spi_len; ++i)
        out.spi[i] = body[8 + i];
    size_t off = 8u + out.spi_len;
    u8 seen = 0;
    for (u8 i = 0; i < ntrans; ++i) {
        if (len - off < 8)
            return ParseError::Truncated;
        u8 const last = body[off];
        u16 const tlen = get16(body + off + 2);
        if (tlen < 8 || tlen > len - off)
            return ParseError::BadLength;
        if ((last == 0) != (i + 1 == ntrans) || (last != 0 && last != 3))
            return kBad;
        ParseError const e = take_transform(body + off, tlen, out, seen);
        if (e != ParseError::Ok)
            return e;
        off += tlen;
    }
    return off == len ? ParseError::Ok : ParseError::BadLength;
}

bool chosen_matches(Offer const& o, Chosen const& c) {
    if (c.proto != o.proto || c.encr != transform::kEncrAesGcm16 || c.integ != 0)
        return false;
    if (c.key_bits == 0 || (c.key_bits != o.key_bits[0] && c.key_bits != o.key_bits[1]))
        return false;
    if (o.proto == Protocol::Ike) {
        bool group_ok = false;
        for (u16 g : o.groups)
            group_ok = group_ok || (g != 0 && g == c.dh);
        return c.spi_len == (o.spi != 0 ? 8 : 0) && c.prf == transform::kPrfHmacSha256 &&
               group_ok && !c.has_esn;
    }
    return c.spi_len == 4 && c.prf == 0 && c.dh == 0 &&
           (!c.has_esn || c.esn == transform::kEsnNone);
}

namespace {

// One proposal of an offer: our AES-GCM key size if it has one, and whether it asks for
// anything we do not do.
ParseError scan_esp_proposal(u8 const* p, size_t plen, u16 const (&key_bits)[2], Chosen& c,
                             bool& ok) {
    c = {};
    ok = false;
    c.proto = static_cast<Protocol>(p[5]);
    c.spi_len = p[6];
    u8 const ntrans = p[7];
    if (c.spi_len > sizeof c.spi || 8u + c.spi_len > plen)
        return kBad;
    for (u8 i = 0; i < c.spi_len; ++i)
        c.spi[i] = p[8 + i];
    bool other = false;  // INTEG, DH or ESN other than none, or an unknown type
    for (size_t off = 8u + c.spi_len, i = 0; i < ntrans; ++i) {
        if (plen - off < 8)
            return ParseError::Truncated;
        u16 const tlen = get16(p + off + 2);
        if (tlen < 8 || tlen > plen - off)
            return ParseError::BadLength;
        u8 const type = p[off + 4];
        u16 const id = get16(p + off + 6);
        u16 bits = 0;
        if (tlen == 12 && get16(p + off + 8) == (0x8000 | transform::kAttrKeyLength))
            bits = get16(p + off + 10);
        if (type == transform::kEncr && id == transform::kEncrAesGcm16 && c.key_bits == 0 &&
            bits != 0 && (bits == key_bits[0] || bits == key_bits[1]))
            c.key_bits = bits;
        else if (type != transform::kEncr &&
                 !(id == 0 && (type == transform::kEsn || type == transform::kDh ||
                               type == transform::kInteg)))
            other = true;
        off += tlen;
    }
    c.encr = transform::kEncrAesGcm16;
    ok = !other && c.key_bits != 0 && c.proto == Protocol::Esp && c.spi_len == 4;
    return ParseError::Ok;
}

// One proposal of an IKE offer (a gateway's IKE SA rekey): AES-GCM-16 with one of our key
// sizes, PRF_HMAC_SHA2_256 and the DH group `group`, each picked among the proposal's
// transforms of its type; other transforms of those types are passed over, as is INTEG (an
// AEAD proposal needs none); any other type makes the proposal unacceptable.
ParseError scan_ike_proposal(u8 const* p, size_t plen, u16 const (&key_bits)[2], u16 group,
                             Chosen& c, bool& ok) {
    c = {};
    ok = false;
    c.proto = static_cast<Protocol>(p[5]);
    c.spi_len = p[6];
    u8 const ntrans = p[7];
    if (c.spi_len > sizeof c.spi || 8u + c.spi_len > plen)
        return kBad;
    for (u8 i = 0; i < c.spi_len; ++i)
        c.spi[i] = p[8 + i];
    bool other = false;
    for (size_t off = 8u + c.spi_len, i = 0; i < ntrans; ++i) {
        if (plen - off < 8)
            return ParseError::Truncated;
        u16 const tlen = get16(p + off + 2);
        if (tlen < 8 || tlen > plen - off)
            return ParseError::BadLength;
        u8 const type = p[off + 4];
        u16 const id = get16(p + off + 6);
        u16 bits = 0;
        if (tlen == 12 && get16(p + off + 8) == (0x8000 | transform::kAttrKeyLength))
            bits = get16(p + off + 10);
        if (type == transform::kEncr && id == transform::kEncrAesGcm16 && c.key_bits == 0 &&
            bits != 0 && (bits == key_bits[0] || bits == key_bits[1]))
            c.key_bits = bits;
        else if (type == transform::kPrf && id == transform::kPrfHmacSha256)
            c.prf = id;
        else if (type == transform::kDh && id == group && group != 0)
            c.dh = id;
        else if (type != transform::kEncr && type != transform::kPrf && type != transform::kDh &&
                 type != transform::kInteg)
            other = true;
        off += tlen;
    }
    c.encr = transform::kEncrAesGcm16;
    ok = !other && c.key_bits != 0 && c.prf != 0 && c.dh != 0 && c.proto == Protocol::Ike &&
         c.spi_len == 8;
    return ParseError::Ok;
}

}  // namespace

ParseError select_ike_proposal(u8 const* body, size_t len, u16 const (&key_bits)[2], u16 group,
                               Chosen& out, bool& found) {
    found = false;
    for (size_t off = 0; off < len;) {
        if (len - off < 8)
            return ParseError::Truncated;
        u8 const last = body[off];
        u16 const plen = get16(body + off + 2);
        if (plen < 8 || plen > len - off)
            return ParseError::BadLength;
        bool ok = false;
        ParseError const e = scan_ike_proposal(body + off, plen, key_bits, group, out, ok);
        if (e != ParseError::Ok)
            return e;
        if (ok) {
            found = true;
            return ParseError::Ok;
        }
        off += plen;
        if (last == 0)
            return off == len ? ParseError::Ok : ParseError::BadLength;
    }
    return ParseError::Ok;
}

ParseError select_esp_proposal(u8 const* body, size_t len, u16 const (&key_bits)[2], Chosen& out,
                               bool& found) {
    found = false;
    for (size_t off = 0; off < len;) {
        if (len - off < 8)
            return ParseError::Truncated;
        u8 const last = body[off];
        u16 const plen = get16(body + off + 2);
        if (plen < 8 || plen > len - off)
            return ParseError::BadLength;
        bool ok = false;
        ParseError const e = scan_esp_proposal(body + off, plen, key_bits, out, ok);
        if (e != ParseError::Ok)
            return e;
        if (ok) {
            found = true;
            return ParseError::Ok;
        }
        off += plen;
        if (last == 0)
            return off == len ? ParseError::Ok : ParseError::BadLength;
    }
    return ParseError::Ok;
}

ParseError decode_ke(u8 const* body, size_t len, u16& group, u8 const*& data, size_t& dlen) {
    if (len < 4)
        return ParseError::Truncated;
    group = get16(body);
    data = body + 4;
    dlen = len - 4;
    return dlen == 0 ? kBad : ParseError::Ok;
}

ParseError decode_nonce(u8 const*, size_t len) {
    return len < kMinNonce || len > kMaxNonce ? kBad : ParseError::Ok;
}

ParseError decode_auth(u8 const* body, size_t len, u8& method, u8 const*& data, size_t& dlen) {
    if (len < 4)
        return ParseError::Truncated;
    method = body[0];
    data = body + 4;
    dlen = len - 4;
    return ParseError::Ok;
}

ParseError decode_cert(u8 const* body, size_t len, u8& encoding, u8 const*& data, size_t& dlen) {
    if (len < 2)
        return ParseError::Truncated;
    encoding = body[0];
    data = body + 1;
    dlen = len - 1;
    return ParseError::Ok;
}

ParseError decode_notify(u8 const* body, size_t len, Notify& out) {
    if (len < 4)
        return ParseError::Truncated;
    out.proto = body[0];
    out.spi_len = body[1];
    out.type = get16(body + 2);
    if (4u + out.spi_len > len)
        return ParseError::BadLength;
    out.spi = body + 4;
    out.data = body + 4 + out.spi_len;
    out.data_len = len - 4 - out.spi_len;
    return ParseError::Ok;
}

ParseError decode_delete(u8 const* body, size_t len, Delete& out) {
    if (len < 4)
        return ParseError::Truncated;
    out.proto = body[0];
    out.spi_size = body[1];
    out.count = get16(body + 2);
    out.spis = body + 4;
    if (static_cast<size_t>(out.spi_size) * out.count != len - 4)
        return ParseError::BadLength;
    if (out.proto == static_cast<u8>(Protocol::Ike) ? out.spi_size != 0 : out.spi_size != 4)
        return kBad;
    return ParseError::Ok;
}

ParseError decode_ts(u8 const* body, size_t len, Ts4 (&out)[kMaxTs], u8& count, u8& skipped) {
    count = 0;
    skipped = 0;
    if (len < 4)
        return ParseError::Truncated;
    u8 const n = body[0];
    size_t off = 4;
    for (u8 i = 0; i < n; ++i) {
        if (len - off < 4)
            return ParseError::Truncated;
        u8 const type = body[off];
        u16 const slen = get16(body + off + 2);
        if (slen < 8 || slen > len - off)
            return ParseError::BadLength;
        if (type == kTsIpv4Range) {
            if (slen != 16)
                return ParseError::BadLength;
            if (count == kMaxTs)
                return kBad;
            Ts4& t = out[count++];
            t.ip_proto = body[off + 1];
            t.port_lo = get16(body + off + 4);
            t.port_hi = get16(body + off + 6);
            for (size_t k = 0; k < 4; ++k) {
                t.lo[k] = body[off + 8 + k];
                t.hi[k] = body[off + 12 + k];
            }
        } else {
            ++skipped;
        }
        off += slen;
    }
    return off == len && n != 0 ? ParseError::Ok : ParseError::BadLength;
}

ParseError decode_cp(u8 const* body, size_t len, CpReply& out) {
    out = {};
    if (len < 4)
        return ParseError::Truncated;
    out.cfg_type = body[0];
    for (size_t off = 4; off < len;) {
        if (len - off < 4)
            return ParseError::Truncated;
        u16 const type = get16(body + off) & 0x7fff;
        u16 const alen = get16(body + off + 2);
        if (alen > len - off - 4)
            return ParseError::BadLength;
        u8 const* v = body + off + 4;
        if (type == cp::kInternalIp4Address && alen != 0) {
            if (alen != 4 && alen != 8)  // an address, optionally followed by a netmask
                return kBad;
            out.has_addr = true;
            for (size_t k = 0; k < 4; ++k)
                out.addr[k] = v[k];
        } else if (type == cp::kInternalIp4Dns && alen != 0) {
            if (alen != 4)
                return kBad;
            if (out.dns_count < 2) {
                for (size_t k = 0; k < 4; ++k)
                    out.dns[out.dns_count][k] = v[k];
                ++out.dns_count;
            }
        }
        off += 4u + alen;
    }
    return ParseError::Ok;
}

}  // namespace tv::vpn::ike
