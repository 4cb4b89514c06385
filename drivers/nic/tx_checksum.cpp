#include "drivers/nic/tx_checksum.hpp"

namespace tv::nic {

using namespace e1000;

TxChecksums legacy_checksum(u8 css, u8 cso) { return TxChecksums{TxSum{}, TxSum{true, css, cso, 0}}; }

TxChecksums context_checksums(TxDesc const& c, u8 popts) {
    u32 const lo = static_cast<u32>(c.addr), hi = static_cast<u32>(c.addr >> 32);
    TxSum const ip{(popts & kTxPoptsIxsm) != 0, lo & 0xFF, (lo >> 8) & 0xFF, lo >> 16};
    TxSum const l4{(popts & kTxPoptsTxsm) != 0, hi & 0xFF, (hi >> 8) & 0xFF, hi >> 16};
    return TxChecksums{ip, l4};
}

namespace {

void apply(u8* f, u32 len, TxSum const& s) {
    if (!s.on) return;
    u32 const end = s.end && s.end < len ? s.end + 1 : len;  // one past the last byte summed
    if (s.start >= end || s.store + 2 > len) return;
    u32 sum = 0;
    for (u32 i = s.start; i < end; i += 2) {
        u32 const word = i + 1 < end ? u32{f[i]} << 8 | f[i + 1] : u32{f[i]} << 8;
        sum += word;
    }
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    u16 v = static_cast<u16>(~sum);
    if (v == 0) v = 0xFFFF;  // UDP's "no checksum" is 0: the device never stores it
    f[s.store] = static_cast<u8>(v >> 8);
    f[s.store + 1] = static_cast<u8>(v);
}

}  // namespace

void apply_checksums(u8* frame, u32 len, TxChecksums const& sums) {
    apply(frame, len, sums.ip);
    apply(frame, len, sums.l4);
}

}  // namespace tv::nic
