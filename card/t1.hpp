// ISO 7816-3 T=1 at block level (clause 11), for a card that speaks only T=1 behind a
// TPDU-level CCID reader: an APDU goes out in I-blocks of at most IFSC bytes (chained with
// the M bit, each acknowledged by the card's R-block), the answer comes back in I-blocks that
// are acknowledged with R-blocks; S(WTX) and S(IFS) requests are answered; a block with a
// bad LRC or length is refused with an R-block (the card sends it again), three times at most.
// T1Transport is itself a CardTransport: ApduChannel runs on it unchanged (without T=0's
// GET RESPONSE rules: Le goes out with the command).
//
// Not done: S(RESYNCH) and S(ABORT) (either ends the exchange as failed), CRC instead of LRC,
// a NAD other than 0, our own S(IFS) request (IFSD stays 32: the card's blocks are at most
// what it chooses, up to 254, and are accepted). Pure: host-tested against a fake T=1 card
// (tests/unit/test_ccid_t1.cpp).
#pragma once

#include "card/apdu.hpp"

namespace tv::card {

inline constexpr u32 kT1MaxInf = 254;
inline constexpr u32 kT1MaxBlock = 3 + kT1MaxInf + 1;
inline constexpr u8 kT1DefaultIfsc = 32;

// PCB (11.3.2): I-block 0 N(S) M ..., R-block 1 0 0 N(R) error, S-block 1 1 response type.
enum class T1Kind : u8 { I, R, S };
struct T1Block {
    T1Kind kind{T1Kind::I};
    u8 pcb{0};
    bool seq{false};   // I: N(S); R: N(R)
    bool more{false};  // I: M
    u8 error{0};       // R: 0 none, 1 EDC/parity, 2 other
    u8 s_type{0};      // S: 0 RESYNCH, 1 IFS, 2 ABORT, 3 WTX
    bool s_response{false};
    u8 const* inf{nullptr};
    u32 len{0};
};

// Writes NAD 0, pcb, LEN, INF and the LRC; returns the block's length (0 if it does not fit).
[[nodiscard]] u32 t1_build(u8 pcb, u8 const* inf, u32 len, u8* out, u32 cap);
// False if the block is malformed: shorter than 4 bytes, LEN not matching, a bad LRC, a NAD
// other than 0, LEN 255, or an R/S-block PCB with reserved bits.
[[nodiscard]] bool t1_parse(u8 const* b, u32 n, T1Block& out);

class T1Transport final : public CardTransport {
  public:
    // lower moves one block each way (a TPDU-level reader's XfrBlock). ifsc: the card's
    // information field size (its ATR's first TA for T=1; 32 if it gives none).
    explicit T1Transport(CardTransport& lower, u8 ifsc = kT1DefaultIfsc)
        : lower_{lower}, ifsc_{ifsc == 0 || ifsc > kT1MaxInf ? kT1DefaultIfsc : ifsc} {}
    ~T1Transport() override;
    T1Transport(T1Transport const&) = delete;
    T1Transport& operator=(T1Transport const&) = delete;

    [[nodiscard]] bool transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) override;
    char const* last_error() const { return error_; }

  private:
    // Sends tx_ (tx_len_ bytes) and reads the card's reply into reply, answering its S(WTX)
    // and S(IFS) requests and asking again for a block that came damaged.
    [[nodiscard]] bool exchange(T1Block& reply);
    [[nodiscard]] bool send_chunks(u8 const* cmd, u32 len, T1Block& first_answer);
    [[nodiscard]] bool collect(T1Block b, u8* answer, u32 cap, u32& answer_len);
    [[nodiscard]] bool fail(char const* why);
    bool build(u8 pcb, u8 const* inf, u32 len);
    void wipe();

    CardTransport& lower_;
    u8 ifsc_;
    bool ns_{false};  // our next I-block's N(S)
    bool nr_{false};  // the N(S) we expect from the card next
    u8 tx_[kT1MaxBlock];
    u32 tx_len_{0};
    u8 rx_[kT1MaxBlock];
    u8 s_answer_[kT1MaxBlock];
    char const* error_{""};
};

}  // namespace tv::card
