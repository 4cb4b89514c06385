#include "vpn/replay.hpp"

namespace tv::vpn {

namespace {

constexpr u32 kRing = kReplayWindow / 64 + 1;  // ReplayWindow::kWords

u32 word_of(u32 seq) { return (seq / 64) % kRing; }
u64 bit_of(u32 seq) { return u64{1} << (seq % 64); }

}  // namespace

bool ReplayWindow::seen(u32 seq) const { return (bits_[word_of(seq)] & bit_of(seq)) != 0; }

bool ReplayWindow::check(u32 seq) const {
    if (seq == 0)
        return false;
    if (seq > top_)
        return true;
    // The ring holds whole words, so it remembers a little more than kReplayWindow numbers
    // below top_; the window itself stays exactly kReplayWindow wide.
    if (top_ - seq >= kReplayWindow)
        return false;
    return !seen(seq);
}

void ReplayWindow::update(u32 seq) {
    if (seq > top_) {
        // Clear the words between the old top's word and the new one: they describe numbers
        // a whole ring ago. A jump of a full ring or more clears everything.
        u32 const old_word = top_ / 64;
        u32 const new_word = seq / 64;
        u32 const steps = new_word - old_word;
        if (steps >= kRing) {
            for (auto& w : bits_)
                w = 0;
        } else {
            for (u32 i = 1; i <= steps; ++i)
                bits_[(old_word + i) % kRing] = 0;
        }
        top_ = seq;
    }
    bits_[word_of(seq)] |= bit_of(seq);
}

}  // namespace tv::vpn
