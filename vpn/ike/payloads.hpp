// Typed IKE payload bodies (RFC 7296 §3.3-§3.15): encoders that append to a ChainBuilder and
// decoders that check one body (as found by parse_chain) and point into it. Decoded pointers
// stay valid as long as the parsed buffer does.
#pragma once

#include "core/types.hpp"
#include "vpn/ike/message.hpp"

namespace tv::vpn::ike {

// ---- Security Association ----------------------------------------------------------------
// What this initiator offers: one proposal, AES-GCM-16 with the listed key sizes, and for IKE
// PRF_HMAC_SHA2_256 plus the DH groups; for ESP, a 4-byte SPI and "no ESN".
struct Offer {
    Protocol proto;
    u64 spi;          // ESP: the 4-byte SPI; IKE: 0 (IKE_SA_INIT) or the new SPI of a rekey
    u16 key_bits[2];  // 128 and/or 256 (0 = unused slot)
    u16 groups[3];    // IKE only (0 = unused slot), in order of preference
};
void add_sa(ChainBuilder& cb, Offer const& o);

// The single proposal of a reply, each transform type at most once.
struct Chosen {
    Protocol proto;
    u8 spi_len;
    u8 spi[8];
    u16 encr;
    u16 key_bits;  // 0: no key-length attribute
    u16 prf;
    u16 integ;  // 0: none (or absent)
    u16 dh;     // 0: none (or absent)
    u16 esn;
    bool has_esn;
};
[[nodiscard]] ParseError decode_sa_reply(u8 const* body, size_t len, Chosen& out);
// True if the reply picked only things the offer contained.
[[nodiscard]] bool chosen_matches(Offer const& o, Chosen const& c);
// From a peer's ESP offer (any number of proposals, as in a CREATE_CHILD_SA request), the
// first proposal we accept: AES-GCM-16 with one of our key sizes, no integrity, no DH, no ESN.
// NotFound if none, or a parse error.
[[nodiscard]] ParseError select_esp_proposal(u8 const* body, size_t len, u16 const (&key_bits)[2],
                                             Chosen& out, bool& found);

// From a peer's IKE offer (its rekey of the IKE SA), the first proposal we accept: AES-GCM-16
// with one of our key sizes, PRF_HMAC_SHA2_256 and DH group `group` (that of its KE).
[[nodiscard]] ParseError select_ike_proposal(u8 const* body, size_t len, u16 const (&key_bits)[2],
                                             u16 group, Chosen& out, bool& found);

// ---- Key Exchange, Nonce, Identification, Authentication ----------------------------------
void add_ke(ChainBuilder& cb, u16 group, u8 const* data, size_t len);
[[nodiscard]] ParseError decode_ke(u8 const* body, size_t len, u16& group, u8 const*& data,
                                   size_t& dlen);
void add_nonce(ChainBuilder& cb, u8 const* n, size_t len);
inline constexpr size_t kMinNonce = 16, kMaxNonce = 256;
[[nodiscard]] ParseError decode_nonce(u8 const* body, size_t len);
void add_id(ChainBuilder& cb, Payload which, u8 type, u8 const* data, size_t len);
void add_auth(ChainBuilder& cb, u8 method, u8 const* data, size_t len);
[[nodiscard]] ParseError decode_auth(u8 const* body, size_t len, u8& method, u8 const*& data,
                                     size_t& dlen);

// ---- Certificate and Certificate Request (RFC 7296 §3.6, §3.7) ----------------------------
// An encoding byte, then the data: for X.509 (encoding 4) a DER certificate, or in a CERTREQ
// the concatenated SHA-1 hashes of the accepted CAs' SubjectPublicKeyInfo.
void add_cert(ChainBuilder& cb, Payload which, u8 encoding, u8 const* data, size_t len);
[[nodiscard]] ParseError decode_cert(u8 const* body, size_t len, u8& encoding, u8 const*& data,
                                     size_t& dlen);

// ---- Notify and Delete ---------------------------------------------------------------------
struct Notify {
    u8 proto;
    u8 spi_len;
    u16 type;
    u8 const* spi;
    u8 const* data;
    size_t data_len;
};
void add_notify(ChainBuilder& cb, Protocol proto, u16 type, u8 const* data, size_t len);
// A notify about one ESP SA (REKEY_SA): protocol ESP and its 4-byte SPI, no data.
void add_notify_spi(ChainBuilder& cb, u32 esp_spi, u16 type);
[[nodiscard]] ParseError decode_notify(u8 const* body, size_t len, Notify& out);
// Delete of the IKE SA (no SPIs) or of ESP SPIs.
void add_delete(ChainBuilder& cb, Protocol proto, u32 const* esp_spis, u16 count);
struct Delete {
    u8 proto;
    u8 spi_size;
    u16 count;
    u8 const* spis;
};
[[nodiscard]] ParseError decode_delete(u8 const* body, size_t len, Delete& out);

// ---- Traffic selectors (IPv4 ranges only) ------------------------------------------------------
struct Ts4 {
    u8 ip_proto;  // 0: any
    u16 port_lo, port_hi;
    u8 lo[4], hi[4];
};
void add_ts(ChainBuilder& cb, Payload which, Ts4 const* ts, u8 count);
inline constexpr u8 kMaxTs = 4;
// Decodes up to kMaxTs IPv4 selectors; other types are skipped and counted in `skipped`.
[[nodiscard]] ParseError decode_ts(u8 const* body, size_t len, Ts4 (&out)[kMaxTs], u8& count,
                                   u8& skipped);

// ---- Configuration ---------------------------------------------------------------------------
void add_cp_request(ChainBuilder& cb);  // INTERNAL_IP4_ADDRESS and INTERNAL_IP4_DNS, empty
struct CpReply {
    u8 cfg_type;
    bool has_addr;
    u8 addr[4];
    u8 dns_count;
    u8 dns[2][4];
};
[[nodiscard]] ParseError decode_cp(u8 const* body, size_t len, CpReply& out);

}  // namespace tv::vpn::ike
