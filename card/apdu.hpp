// ISO 7816-4 command APDUs (short form) and the exchange rules of T=0 under a TPDU-level
// reader: case 4 goes out without Le, "61 xx" fetches the answer with GET RESPONSE, "6C xx"
// repeats the command with the right Le. A CardTransport moves one command and one answer;
// ApduChannel turns that into whole APDU exchanges, in buffers it wipes afterwards.
//
// Pure: host-tested against a fake transport (tests/unit/test_ccid_apdu.cpp), fuzzed.
#pragma once

#include "core/types.hpp"

namespace tv::card {

inline constexpr u32 kApduMaxData = 255;               // short APDUs only
inline constexpr u32 kApduMaxCommand = 4 + 1 + 255 + 1;
inline constexpr u32 kApduMaxAnswer = 2048;            // what one exchange may collect (GET RESPONSE chains)

inline constexpr u16 kSwOk = 0x9000;

struct Apdu {
    u8 cla{0}, ins{0}, p1{0}, p2{0};
    u8 const* data{nullptr};
    u32 lc{0};        // 0 .. kApduMaxData
    u32 le{0};        // 1 .. 256 when expect_data; 256 is encoded as 0
    bool expect_data{false};
};

// The encoded command, or 0 if it does not fit cap or the fields are out of range. drop_le: T=0
// at TPDU level, where a case-4 command is sent as case 3 and the answer fetched with GET RESPONSE.
[[nodiscard]] u32 apdu_encode(Apdu const& a, bool drop_le, u8* out, u32 cap);

// Moves one command to the card and its answer back (data then SW1 SW2). False on a transport
// failure (no card, reader gone, protocol error): the exchange is abandoned.
class CardTransport {
  public:
    virtual ~CardTransport() = default;
    [[nodiscard]] virtual bool transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) = 0;
};

enum class ApduResult : u8 { Ok, TransportFailed, BadAnswer, TooLong };

class ApduChannel {
  public:
    ApduChannel(CardTransport& t, bool drop_le) : transport_{t}, drop_le_{drop_le} {}
    ~ApduChannel();
    ApduChannel(ApduChannel const&) = delete;
    ApduChannel& operator=(ApduChannel const&) = delete;

    // Sends a; on Ok, sw holds the final status word and data()/len() the answer's data
    // (collected over GET RESPONSE rounds), valid until the next exchange.
    [[nodiscard]] ApduResult exchange(Apdu const& a, u16& sw);
    u8 const* data() const { return answer_; }
    u32 len() const { return answer_len_; }
    // Wipes the command and answer buffers (PINs and keys pass through them).
    void wipe();

  private:
    [[nodiscard]] ApduResult send(Apdu const& a, u16& sw);
    CardTransport& transport_;
    bool drop_le_;
    u8 command_[kApduMaxCommand];
    u8 raw_[kApduMaxData + 3];  // one answer: up to 256 bytes of data and the status word
    u8 answer_[kApduMaxAnswer];
    u32 answer_len_{0};
};

}  // namespace tv::card
