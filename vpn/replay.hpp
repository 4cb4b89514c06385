// ESP anti-replay window (RFC 4303 section 3.4.3), 1024 packets wide.
//
// A ring bitmap in the manner of RFC 6479: bit (seq mod 1024) records whether seq was seen,
// for seq within the window below the highest number accepted. Moving the window forward
// clears only the words it passes over, so no bitmap is shifted per packet. The ring has one
// word more than the window needs: the oldest number in the window can then never share a
// word with the newest, which the forward clearing would otherwise wipe.
//
// The check and the update are separate on purpose: open() checks before it decrypts (a cheap
// reject of replays and of numbers too old to judge) and updates only after the ICV verified,
// so a forged packet can neither move the window nor mark a number as seen.
#pragma once

#include "core/types.hpp"

namespace tv::vpn {

inline constexpr u32 kReplayWindow = 1024;  // packets; strongSwan's default is 32
static_assert(kReplayWindow % 64 == 0);

class ReplayWindow final {
  public:
    // True if seq may be accepted: not 0 (never sent, RFC 4303 section 3.3.3), not below the
    // window, not already seen.
    [[nodiscard]] bool check(u32 seq) const;
    // Records seq as seen; call only after check(seq) and the ICV passed.
    void update(u32 seq);

    [[nodiscard]] u32 highest() const { return top_; }

  private:
    [[nodiscard]] bool seen(u32 seq) const;

    u32 top_{0};  // highest sequence number accepted, 0 before the first
    static constexpr u32 kWords = kReplayWindow / 64 + 1;
    u64 bits_[kWords]{};
};

}  // namespace tv::vpn
