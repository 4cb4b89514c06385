#include "card/ccid_reader.hpp"

#include <string.h>

#include "crypto/secure_zero.hpp"

namespace tv::card {

namespace {

constexpr u32 kMaxTimeExtensions = 64;
constexpr u32 kMaxStaleAnswers = 4;

}  // namespace

CcidReader::~CcidReader() { wipe(); }

void CcidReader::wipe() {
    crypto::secure_zero(out_, sizeof out_);
    crypto::secure_zero(in_, sizeof in_);
}

bool CcidReader::read_message(u32& len) {
    len = 0;
    u32 const packet = pipe_.max_packet();
    if (packet == 0 || packet > 64 * 16)
        return false;
    u64 want = kCcidHeaderBytes;
    u32 empty = 0;
    while (len < want) {
        u32 got = 0;
        u32 const room = static_cast<u32>(sizeof in_) - len;
        if (room < packet || !pipe_.bulk_in(in_ + len, packet, got) || got > packet)
            return false;
        if (got == 0 && len == 0 && ++empty <= 2)
            continue;  // the zero-length packet that ended the previous answer (a whole number of packets)
        len += got;
        if (len >= kCcidHeaderBytes) {
            want = ccid_message_length(in_, len);
            if (want > kCcidMaxMessage)
                return false;
        }
        if (got < packet && len < want)
            return false;  // a short packet ends the transfer: the message is cut
    }
    return len == want;
}

ReaderResult CcidReader::command(CcidMsg type, u8 const* data, u32 len, CcidAnswer& answer) {
    u8 const seq = seq_++;
    u32 n = 0;
    switch (type) {
    case CcidMsg::IccPowerOn: n = ccid_power_on(slot_, seq, out_, sizeof out_); break;
    case CcidMsg::IccPowerOff: n = ccid_power_off(slot_, seq, out_, sizeof out_); break;
    case CcidMsg::GetSlotStatus: n = ccid_get_slot_status(slot_, seq, out_, sizeof out_); break;
    case CcidMsg::XfrBlock: n = ccid_xfr_block(slot_, seq, data, len, out_, sizeof out_); break;
    case CcidMsg::SetParameters:
        n = len == 1 && data != nullptr ? ccid_set_parameters_t1(slot_, seq, data[0], out_, sizeof out_) : 0;
        break;
    default: break;
    }
    if (n == 0 || !pipe_.bulk_out(out_, n)) {
        error_ = "the reader did not take the command";
        return ReaderResult::Failed;
    }
    u32 stale = 0;
    for (u32 waits = 0; waits <= kMaxTimeExtensions;) {
        u32 got = 0;
        if (!read_message(got)) {
            error_ = "no complete answer from the reader";
            return ReaderResult::Failed;
        }
        CcidParse const p = ccid_parse_answer(in_, got, type, slot_, seq, answer);
        if (p == CcidParse::WrongSeq && ++stale <= kMaxStaleAnswers)
            continue;  // an answer to a command we gave up on earlier
        if (p != CcidParse::Ok) {
            error_ = describe(p);
            return ReaderResult::Failed;
        }
        if (answer.command == CcidCommandStatus::TimeExtension) {
            ++waits;
            continue;
        }
        if (answer.icc == IccStatus::Absent) {
            error_ = "no card in the reader";
            return ReaderResult::NoCard;
        }
        if (answer.command == CcidCommandStatus::Failed) {
            error_ = "the reader reported an error";
            return ReaderResult::Failed;
        }
        return ReaderResult::Ok;
    }
    error_ = "the card keeps asking for more time";
    return ReaderResult::Failed;
}

ReaderResult CcidReader::power_on(u8* atr, u32 cap, u32& len) {
    len = 0;
    CcidAnswer a;
    ReaderResult const r = command(CcidMsg::IccPowerOn, nullptr, 0, a);
    if (r != ReaderResult::Ok)
        return r;
    if (a.len == 0 || a.len > cap) {
        error_ = "the card's ATR is empty or too long";
        return ReaderResult::Failed;
    }
    memcpy(atr, a.data, a.len);
    len = a.len;
    return ReaderResult::Ok;
}

ReaderResult CcidReader::power_off() {
    CcidAnswer a;
    ReaderResult const r = command(CcidMsg::IccPowerOff, nullptr, 0, a);
    wipe();
    return r == ReaderResult::NoCard ? ReaderResult::Ok : r;
}

ReaderResult CcidReader::slot_status(IccStatus& icc) {
    CcidAnswer a;
    ReaderResult const r = command(CcidMsg::GetSlotStatus, nullptr, 0, a);
    icc = r == ReaderResult::Ok ? a.icc : IccStatus::Absent;
    return r;
}

ReaderResult CcidReader::set_parameters_t1(u8 ifsc) {
    CcidAnswer a;
    u8 const arg[1] = {ifsc};
    ReaderResult const r = command(CcidMsg::SetParameters, arg, 1, a);
    if (r == ReaderResult::Ok && (a.len < kCcidT1ParamBytes || a.chain != 1)) {  // bProtocolNum echoed
        error_ = "the reader did not take T=1";
        return ReaderResult::Failed;
    }
    return r;
}

bool CcidReader::transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) {
    answer_len = 0;
    CcidAnswer a;
    bool ok = command(CcidMsg::XfrBlock, cmd, len, a) == ReaderResult::Ok;
    if (ok && a.chain != 0) {
        error_ = "chained CCID answers are not supported";
        ok = false;
    }
    if (ok && (a.len < 2 || a.len > cap)) {
        error_ = "the card's answer has no status word or is too long";
        ok = false;
    }
    if (ok) {
        memcpy(answer, a.data, a.len);
        answer_len = a.len;
    }
    wipe();
    return ok;
}

}  // namespace tv::card
