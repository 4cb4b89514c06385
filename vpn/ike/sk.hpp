// The Encrypted payload (SK, RFC 7296 §3.14) with AES-GCM-16 (RFC 5282), and Encrypted
// Fragments (SKF, RFC 7383) with their reassembly. GCM's nonce is the 4-byte salt that
// follows each SK_e key in the key schedule, then the 8-byte IV sent in the payload; the
// associated data is everything from the IKE header to the end of the (SK or SKF) payload
// header. No padding is added (GCM needs no block alignment); any received padding is removed.
#pragma once

#include "core/types.hpp"
#include "vpn/ike/message.hpp"

namespace tv::vpn::ike {

inline constexpr size_t kIvBytes = 8, kIcvBytes = 16, kSaltBytes = 4;

struct SkKey {
    u8 key[32];
    u8 salt[kSaltBytes];
    u8 key_len;  // 16 or 32
};

// Appends an SK payload carrying `plain` (an inner chain whose first payload is `first`) as
// the last payload of the message in cb (header already written) and finishes the message.
// `iv` must never repeat under one key (the caller counts). Returns the message length or 0.
[[nodiscard]] size_t seal_sk(ChainBuilder& cb, u8 first, u8 const* plain, size_t plen,
                             SkKey const& k, u64 iv);

// The same for fragment `num` of `total` (1-based); `first` is sent only in fragment 1.
[[nodiscard]] size_t seal_skf(ChainBuilder& cb, u8 first, u16 num, u16 total, u8 const* plain,
                              size_t plen, SkKey const& k, u64 iv);

// Authenticates and decrypts the SK payload `ref` of msg (the caller's private copy) in place.
// On success [plain, plain+plen) is the inner chain. Any tampering gives BadPayload.
[[nodiscard]] ParseError open_sk(u8* msg, PayloadRef const& ref, SkKey const& k, u8*& plain,
                                 size_t& plen);

// The same for an SKF payload; also reports its number and total.
[[nodiscard]] ParseError open_skf(u8* msg, PayloadRef const& ref, SkKey const& k, u16& num,
                                  u16& total, u8*& plain, size_t& plen);

// Collects the decrypted fragments of one message (§2.6 of RFC 7383) until all are there.
class Reassembly {
  public:
    static constexpr u16 kMaxFragments = 16;
    static constexpr size_t kCapacity = 4096;
    enum class Result : u8 { Incomplete, Complete, Refused };

    void reset();
    // Adds fragment num/total of message msg_id; fragments of a newer message replace an
    // unfinished older one, those of an older message are refused, duplicates ignored.
    [[nodiscard]] Result add(u32 msg_id, u16 num, u16 total, u8 first, u8 const* plain,
                             size_t plen);
    // After Complete: the whole inner chain, in order.
    u8 const* data() const { return out_; }
    size_t size() const { return out_len_; }
    u8 first() const { return first_; }

  private:
    u32 msg_id_ = 0;
    bool active_ = false;
    u16 total_ = 0;
    u16 have_ = 0;
    u8 first_ = 0;
    u16 off_[kMaxFragments + 1] = {};
    u16 len_[kMaxFragments + 1] = {};
    bool got_[kMaxFragments + 1] = {};
    size_t used_ = 0;
    u8 buf_[kCapacity] = {};
    u8 out_[kCapacity] = {};
    size_t out_len_ = 0;
};

}  // namespace tv::vpn::ike
