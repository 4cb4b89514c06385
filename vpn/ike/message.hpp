// The IKE header and the generic payload chain (RFC 7296 §3.1, §3.2): parsing a received
// message into a list of typed payload bodies, and building one. The parser works on the
// caller's private copy of the datagram (copy before check): nothing is read twice from a
// buffer that could change under it. Every length is checked against its container; an
// unknown payload with the critical bit set is refused (§2.5), an unknown one without it is
// skipped; an Encrypted (SK) or Encrypted Fragment (SKF) payload must be the last one.
#pragma once

#include "core/types.hpp"
#include "vpn/ike/constants.hpp"
#include "vpn/ike/wire.hpp"

namespace tv::vpn::ike {

struct Header {
    u64 spi_i;
    u64 spi_r;
    u8 first;  // type of the first payload
    u8 version;
    u8 exchange;
    u8 flags;
    u32 msg_id;
    u32 length;
};

enum class ParseError : u8 {
    Ok,
    Truncated,   // shorter than a header, or than a payload header it announces
    BadVersion,  // major version not 2
    BadLength,   // a length field disagrees with its container
    TooManyPayloads,
    UnsupportedCritical,  // an unknown payload type with the critical bit (RFC 7296 §2.5)
    BadOrder,             // SK/SKF not the last payload, or more than one
    BadPayload,           // a payload body malformed for its type
};
char const* to_string(ParseError e);

struct PayloadRef {
    u8 type;
    u16 off;  // body (after the 4-byte generic header), relative to the parsed buffer
    u16 len;
};

inline constexpr size_t kMaxPayloads = 24;

struct PayloadList {
    PayloadRef item[kMaxPayloads];
    u8 count;
    u8 inner_first;       // for an SK/SKF payload: the type of the first inner payload
    u8 unknown_critical;  // the refused type when UnsupportedCritical

    // The nth payload of a type, or nullptr.
    PayloadRef const* find(Payload t, unsigned nth = 0) const;
};

[[nodiscard]] ParseError parse_header(u8 const* msg, size_t len, Header& h);

// Walks the chain that starts with type `first` over buf[off, end). Offsets in the result are
// relative to buf. `end` must not exceed 65535.
[[nodiscard]] ParseError parse_chain(u8 const* buf, size_t off, size_t end, u8 first,
                                     PayloadList& out);

// A whole message: header, then its chain (header length must equal the datagram length).
[[nodiscard]] ParseError parse_message(u8 const* msg, size_t len, Header& h, PayloadList& out);

// Builds a payload chain into a buffer, patching each "next payload" field as the following
// payload is begun. With with_header, the buffer starts with an IKE header whose length is
// set by finish(); without it (an SK payload's plaintext) the first type is kept in first().
class ChainBuilder {
  public:
    ChainBuilder(u8* buf, size_t cap) : w_{buf, cap} {}
    // Starts with an IKE header (28 bytes); `first`/length fields are patched later.
    void header(Header const& h);
    size_t begin(Payload t, bool critical = false);
    void end(size_t start);
    // Writes the message length into the header; returns the length, or 0 after an overflow.
    size_t finish();
    Writer& w() { return w_; }
    u8 first() const { return first_; }
    bool overflow() const { return w_.overflow(); }

  private:
    Writer w_;
    size_t next_slot_ = SIZE_MAX;  // where the next payload's type goes; MAX: into first_
    bool has_header_ = false;
    u8 first_ = 0;
};

}  // namespace tv::vpn::ike
