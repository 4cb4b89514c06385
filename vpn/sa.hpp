// The child SAs as ESP sees them (RFC 4303, RFC 4106, RFC 3948), and the fixed-size database
// that holds them.
//
// A child SA is installed as a pair: the inbound SA (our SPI, the peer's packets to us) and the
// outbound one (the peer's SPI). IKE (vpn/ike/) installs pairs from KEYMAT with
// SaDb::install(); ESP (vpn/esp_*) looks up inbound SAs by SPI and seals with the current
// outbound one.
//
// Rekeying (RFC 7296 section 2.8): installing a new pair makes its outbound SA the current one
// at once (one index store, after the pair is complete), while the old inbound SA stays valid
// next to the new one, so packets the peer still sends with the old keys are accepted. IKE
// removes the old pair when the Delete exchange ends; its keys are wiped then.
//
// Cipher: AES-GCM with a 16-byte ICV (RFC 4106 "AES-GCM-16"), 128- or 256-bit keys. KEYMAT per
// direction is the key followed by a 4-byte salt (RFC 4106 section 8.1). Sequence numbers are
// 32 bits on the wire and without ESN (strongSwan's kernel-libipsec has none). All SPIs, ports
// and addresses here are in host byte order.
//
// No STL, no heap, a constexpr constructor: a global SaDb sits in .bss with no static
// constructor. The monitor calls it under one lock (the VPN's); it is not itself thread-safe.
// install() takes its own FpuGuard for the key schedules.
#pragma once

#include "core/types.hpp"
#include "crypto/gcm.hpp"
#include "vpn/replay.hpp"

namespace tv::vpn {

inline constexpr u64 kSaltBytes = 4;
inline constexpr u64 kIcvBytes = 16;
inline constexpr u16 kNatTPort = 4500;  // RFC 3948: IKE and ESP-in-UDP share it
inline constexpr u32 kSaPairs = 4;      // the current pair, the one it replaced, and slack

// Outbound sequence numbers: a rekey is asked for once kSeqSoft packets were sent (leaving
// IKE 2^28 packets, minutes even at line rate, to finish CREATE_CHILD_SA), and the SA refuses
// to seal once kSeqHard was used: the number must never wrap to reuse a nonce (RFC 4303
// section 3.3.3 without ESN).
inline constexpr u32 kSeqSoft = 0xF000'0000u;
inline constexpr u32 kSeqHard = 0xFFFF'FFFFu;

struct Lifetime {
    u64 bytes{0};    // 0: no limit
    u64 packets{0};  // 0: no limit
    u64 seconds{0};  // 0: no limit
};

struct Lifetimes {
    Lifetime soft;  // ask IKE to rekey
    Lifetime hard;  // stop using the SA
};

// The outer addresses of ESP-in-UDP (RFC 3948). Ports are 4500 unless a NAT changed them.
struct UdpEncap {
    u32 local_ip{0};
    u32 remote_ip{0};
    u16 local_port{kNatTPort};
    u16 remote_port{kNatTPort};
};

struct SaCounters {
    u64 packets{0};
    u64 bytes{0};  // inner (plaintext) bytes
};

struct ChildSa {
    u32 spi{0};
    crypto::Gcm gcm;
    u8 salt[kSaltBytes]{};
    u32 seq{0};           // outbound: the last number sent (the first packet carries 1)
    ReplayWindow replay;  // inbound
    SaCounters counters;
};

struct SaPair {
    bool live{false};
    ChildSa in;
    ChildSa out;
    Lifetimes life;
    UdpEncap encap;
    u64 installed_s{0};  // monitor clock, seconds
};

// What IKE negotiated for one child SA, for SaDb::install.
struct ChildSaSpec {
    u32 spi_in{0};   // ours: the peer sends to it
    u32 spi_out{0};  // the peer's: we send to it
    // KEYMAT (RFC 7296 section 2.17): the initiator-to-responder key and salt first, then the
    // responder-to-initiator ones; keymat_len >= 2 * (key_bytes + 4).
    u8 const* keymat{nullptr};
    u64 keymat_len{0};
    u64 key_bytes{16};  // 16 or 32: the proposal's AES-GCM key length
    // True if we initiated the exchange that created this child SA: our outbound keys are then
    // the first half of KEYMAT.
    bool initiator{true};
    Lifetimes life;
    UdpEncap encap;
    u64 now_s{0};
    crypto::GcmEngine engine{crypto::GcmEngine::Auto};  // tests force one
};

enum class SaLimit : u8 {
    Ok,
    Soft,  // rekey now
    Hard,  // expired: seal refuses, IKE must delete it
};

class SaDb final {
  public:
    constexpr SaDb() = default;
    SaDb(SaDb const&) = delete;
    SaDb& operator=(SaDb const&) = delete;

    // Installs a pair and makes it the outbound one. Exists if the inbound SPI is already an
    // inbound one or the outbound SPI an outbound one,
    // NoMemory if all kSaPairs slots are live, Invalid on a bad key length, short KEYMAT or an
    // SPI of 0 (reserved). Nothing changes on failure.
    [[nodiscard]] Status install(ChildSaSpec const& spec);

    // The pair whose inbound SPI is spi, or null.
    [[nodiscard]] SaPair* find_inbound(u32 spi);
    // The pair outbound packets use now, or null if none.
    [[nodiscard]] SaPair* outbound();

    // Remove a pair (after a Delete): ours names the inbound SPI, the peer's the outbound one.
    // Its keys are wiped. If it was the outbound pair, the newest other live pair takes over.
    [[nodiscard]] Status remove_by_inbound(u32 spi);
    [[nodiscard]] Status remove_by_outbound(u32 spi);
    void clear();  // every pair, on shutdown or when the IKE SA goes

    [[nodiscard]] u32 live_pairs() const;

  private:
    // Inbound SPIs are ours and outbound ones the peer's: each must be unique among its own
    // kind (lookup and Delete go by them), but the peer may pick a value we also use.
    [[nodiscard]] bool spi_in_use(u32 spi_in, u32 spi_out) const;
    void remove(u32 slot);

    SaPair pairs_[kSaPairs];
    u32 active_{kSaPairs};  // index of the outbound pair; kSaPairs: none
    u64 installs_{0};
    u64 order_[kSaPairs]{};  // install number of each slot, to pick the newest on removal
};

// How close a pair is to its lifetimes (bytes and packets of either direction, seconds since
// installation, and the outbound sequence number against kSeqSoft/kSeqHard).
[[nodiscard]] SaLimit sa_limit(SaPair const& pair, u64 now_s);
// Whether the pair is past a hard lifetime (bytes, packets or seconds): its inbound SA then
// takes no more packets (esp_open), as its outbound one seals none (sa_limit says Hard).
[[nodiscard]] bool sa_expired(SaPair const& pair, u64 now_s);

}  // namespace tv::vpn
