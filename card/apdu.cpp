#include "card/apdu.hpp"

#include <string.h>

#include "crypto/secure_zero.hpp"

namespace tv::card {

namespace {

constexpr u8 kInsGetResponse = 0xc0;
constexpr u32 kMaxRounds = 16;  // GET RESPONSE and 6C rounds one exchange may take

}  // namespace

u32 apdu_encode(Apdu const& a, bool drop_le, u8* out, u32 cap) {
    if (out == nullptr || a.lc > kApduMaxData || (a.lc != 0 && a.data == nullptr) ||
        (a.expect_data && (a.le == 0 || a.le > 256)))
        return 0;
    bool const with_le = a.expect_data && !(drop_le && a.lc != 0);
    u32 const n = 4 + (a.lc != 0 ? 1 + a.lc : 0) + (with_le ? 1 : 0);
    if (cap < n)
        return 0;
    out[0] = a.cla;
    out[1] = a.ins;
    out[2] = a.p1;
    out[3] = a.p2;
    u32 at = 4;
    if (a.lc != 0) {
        out[at++] = static_cast<u8>(a.lc);
        memcpy(out + at, a.data, a.lc);
        at += a.lc;
    }
    if (with_le)
        out[at++] = static_cast<u8>(a.le & 0xff);  // 256 -> 0
    return at;
}

ApduChannel::~ApduChannel() { wipe(); }

void ApduChannel::wipe() {
    crypto::secure_zero(command_, sizeof command_);
    crypto::secure_zero(raw_, sizeof raw_);
    crypto::secure_zero(answer_, sizeof answer_);
    answer_len_ = 0;
}

// One command, one answer appended to answer_.
ApduResult ApduChannel::send(Apdu const& a, u16& sw) {
    u32 const n = apdu_encode(a, drop_le_, command_, sizeof command_);
    if (n == 0)
        return ApduResult::BadAnswer;
    u32 got = 0;
    if (!transport_.transmit(command_, n, raw_, sizeof raw_, got))
        return ApduResult::TransportFailed;
    if (got < 2 || got > sizeof raw_)
        return ApduResult::BadAnswer;
    u32 const data_len = got - 2;
    if (answer_len_ + data_len > sizeof answer_)
        return ApduResult::TooLong;
    memcpy(answer_ + answer_len_, raw_, data_len);
    answer_len_ += data_len;
    sw = static_cast<u16>(raw_[got - 2] << 8 | raw_[got - 1]);
    return ApduResult::Ok;
}

ApduResult ApduChannel::exchange(Apdu const& a, u16& sw) {
    answer_len_ = 0;
    Apdu cmd = a;
    for (u32 round = 0; round < kMaxRounds; ++round) {
        u32 const before = answer_len_;
        if (ApduResult const r = send(cmd, sw); r != ApduResult::Ok)
            return r;
        u8 const sw1 = static_cast<u8>(sw >> 8);
        u8 const sw2 = static_cast<u8>(sw);
        if (sw1 == 0x6c && round == 0) {  // wrong Le: the card names the right one; ask again
            answer_len_ = before;
            cmd.expect_data = true;
            cmd.le = sw2 == 0 ? 256 : sw2;
            continue;
        }
        if (sw1 != 0x61)
            return ApduResult::Ok;
        // More data waits: GET RESPONSE with Le = what the card announced (0: 256 or more).
        cmd = Apdu{};
        cmd.cla = static_cast<u8>(a.cla & 0x03);  // the channel bits only: ISO class
        cmd.ins = kInsGetResponse;
        cmd.expect_data = true;
        cmd.le = sw2 == 0 ? 256 : sw2;
    }
    return ApduResult::BadAnswer;  // a card that never stops answering 61 xx
}

}  // namespace tv::card
