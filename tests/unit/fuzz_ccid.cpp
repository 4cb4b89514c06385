// libFuzzer target for what a reader and a card send back (card/): CCID answers, the class
// descriptor, the ATR, the CAC certificate buffers, and whole exchanges where every bulk-in
// packet comes from the input (CcidReader -> ApduChannel -> CacCard), and the same over T=1
// blocks from the input (T1Transport -> ApduChannel -> CacCard). Seeds in
// tests/unit/corpus/ccid/. Invariants: no crash, no read outside the answers, and an accepted
// answer's data lies inside the message.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "card/cac.hpp"
#include "card/ccid.hpp"
#include "card/ccid_reader.hpp"
#include "card/t1.hpp"

using namespace tv;
using namespace tv::card;

namespace {

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

// Bulk-in packets from the input: a length byte (cut to 64), then that many bytes.
class FuzzPipe final : public BulkPipe {
  public:
    FuzzPipe(u8 const* d, size_t n) : d_{d}, n_{n} {}
    bool bulk_out(u8 const*, u32 len) override { return len >= kCcidHeaderBytes; }
    bool bulk_in(u8* buf, u32 cap, u32& got) override {
        if (at_ >= n_)
            return false;
        u32 len = d_[at_++] % 65;
        if (len > n_ - at_)
            len = static_cast<u32>(n_ - at_);
        if (len > cap)
            return false;
        memcpy(buf, d_ + at_, len);
        at_ += len;
        got = len;
        return true;
    }
    u32 max_packet() const override { return 64; }

  private:
    u8 const* d_;
    size_t n_;
    size_t at_{0};
};

// T=1 blocks from the input: a length byte, then that many bytes, for each block the host sends.
class FuzzBlocks final : public CardTransport {
  public:
    FuzzBlocks(u8 const* d, size_t n) : d_{d}, n_{n} {}
    bool transmit(u8 const* cmd, u32 len, u8* out, u32 cap, u32& got) override {
        T1Block b;
        check(t1_parse(cmd, len, b), "the host sends well-formed blocks");
        if (at_ >= n_)
            return false;
        u32 n = d_[at_++];
        if (n > n_ - at_)
            n = static_cast<u32>(n_ - at_);
        if (n > cap)
            return false;
        memcpy(out, d_ + at_, n);
        at_ += n;
        got = n;
        return true;
    }

  private:
    u8 const* d_;
    size_t n_;
    size_t at_{0};
};

void fuzz_t1(u8 const* d, size_t n, u8 mode) {
    FuzzBlocks blocks{d, n};
    T1Transport t1{blocks, static_cast<u8>(mode >> 3)};
    u8 cmd[kApduMaxCommand] = {0x00, 0xa4, 0x04, 0x00, 0x07};
    u8 answer[300];
    u32 len = 0;
    if (t1.transmit(cmd, 5 + (mode & 0x80 ? 200 : 7), answer, sizeof answer, len))
        check(len <= sizeof answer, "T=1 answer inside the buffer");
    ApduChannel channel{t1, false};
    CacCard cac{channel};
    static u8 cert[kCacMaxBuffer];
    if (cac.read_certificate(mode % 3, cert, sizeof cert, len) == CardStatus::Ok)
        check(len > 0 && len <= sizeof cert, "certificate length");
}

void fuzz_answer(u8 const* d, u32 n) {
    CcidAnswer a;
    static CcidMsg const kSent[] = {CcidMsg::XfrBlock, CcidMsg::GetSlotStatus, CcidMsg::IccPowerOn};
    for (CcidMsg sent : kSent) {
        if (ccid_parse_answer(d, n, sent, 0, n > 6 ? d[6] : 0, a) == CcidParse::Ok) {
            check(a.data == d + kCcidHeaderBytes && a.len + kCcidHeaderBytes == n, "answer data inside the message");
            check(static_cast<u8>(a.icc) <= 2 && static_cast<u8>(a.command) <= 2, "status fields in range");
        }
    }
}

void fuzz_stack(u8 const* d, size_t n, u8 mode) {
    FuzzPipe pipe{d, n};
    CcidReader reader{pipe};
    ApduChannel channel{reader, (mode & 1) != 0};
    CacCard cac{channel};
    u8 atr[64];
    u32 atr_len = 0;
    if (reader.power_on(atr, sizeof atr, atr_len) == ReaderResult::Ok) {
        AtrInfo info;
        (void)parse_atr(atr, atr_len, info);
    }
    static u8 cert[kCacMaxBuffer];
    u32 len = 0;
    if (cac.read_certificate(mode % 3, cert, sizeof cert, len) == CardStatus::Ok)
        check(len > 0 && len <= sizeof cert, "certificate length");
    int tries = 0;
    (void)cac.pin_tries(tries);
    (void)cac.verify_pin(reinterpret_cast<u8 const*>("1234"), 4, tries);
    check(tries >= kTriesUnknown && tries <= 15, "tries from one nibble");
    u8 in[256] = {};
    u8 out[256];
    (void)cac.private_op(0, in, sizeof in, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    if (size == 0)
        return 0;
    u8 const mode = data[0];
    u8 const* d = data + 1;
    u32 const n = static_cast<u32>(size - 1 > 8192 ? 8192 : size - 1);
    switch (mode & 7) {
    case 0:
        fuzz_answer(d, n);
        break;
    case 1: {
        CcidReaderInfo info;
        if (ccid_parse_class_descriptor(d, n, info) == nullptr)
            check(info.max_message >= kCcidHeaderBytes + 260 && (info.protocols & 3) != 0, "usable reader");
        break;
    }
    case 2: {
        AtrInfo info;
        (void)parse_atr(d, n, info);
        break;
    }
    case 3: {
        u32 const split = n > 0 ? d[0] % n : 0;
        u8 const* cert = nullptr;
        u32 len = 0;
        if (n > 1 && cac_find_certificate(d + 1, split, d + 1 + split, n - 1 - split, cert, len) == CardStatus::Ok)
            check(cert >= d + 1 + split && cert + len <= d + n, "certificate inside the value buffer");
        break;
    }
    case 4:
        fuzz_t1(d, n, mode);
        break;
    default:
        fuzz_stack(d, n, mode);
        break;
    }
    return 0;
}
