#include "card/ccid.hpp"

#include <string.h>

namespace tv::card {

namespace {

u32 put_header(CcidMsg type, u32 data_len, u8 slot, u8 seq, u8* out, u32 cap) {
    if (out == nullptr || data_len > kCcidMaxData || cap < kCcidHeaderBytes + data_len)
        return 0;
    CcidHeader h{};
    h.type = static_cast<u8>(type);
    h.length.set(data_len);
    h.slot = slot;
    h.seq = seq;
    memcpy(out, &h, sizeof h);
    return kCcidHeaderBytes + data_len;
}

// What a command is answered with.
CcidMsg answer_type(CcidMsg sent) {
    switch (sent) {
    case CcidMsg::IccPowerOn:
    case CcidMsg::XfrBlock: return CcidMsg::DataBlock;
    case CcidMsg::SetParameters: return CcidMsg::Parameters;
    default: return CcidMsg::SlotStatus;
    }
}

// How many of TAi, TBi, TCi an indicator nibble announces (no libgcc popcount in the monitor).
u32 interface_bytes(u8 y) { return (y & 1u) + ((y >> 1) & 1u) + ((y >> 2) & 1u); }

u32 le32_at(u8 const* p) {
    return static_cast<u32>(p[0]) | static_cast<u32>(p[1]) << 8 | static_cast<u32>(p[2]) << 16 |
           static_cast<u32>(p[3]) << 24;
}

}  // namespace

u32 ccid_power_on(u8 slot, u8 seq, u8* out, u32 cap) {
    // bPowerSelect 0: the reader picks the voltage (QEMU's reader and most readers do).
    return put_header(CcidMsg::IccPowerOn, 0, slot, seq, out, cap);
}

u32 ccid_power_off(u8 slot, u8 seq, u8* out, u32 cap) {
    return put_header(CcidMsg::IccPowerOff, 0, slot, seq, out, cap);
}

u32 ccid_get_slot_status(u8 slot, u8 seq, u8* out, u32 cap) {
    return put_header(CcidMsg::GetSlotStatus, 0, slot, seq, out, cap);
}

u32 ccid_xfr_block(u8 slot, u8 seq, u8 const* data, u32 len, u8* out, u32 cap) {
    if (data == nullptr && len != 0)
        return 0;
    u32 const n = put_header(CcidMsg::XfrBlock, len, slot, seq, out, cap);
    if (n != 0 && len != 0)
        memcpy(out + kCcidHeaderBytes, data, len);  // bBWI 0, wLevelParameter 0: one whole APDU
    return n;
}

u32 ccid_set_parameters_t1(u8 slot, u8 seq, u8 ifsc, u8* out, u32 cap) {
    u32 const n = put_header(CcidMsg::SetParameters, kCcidT1ParamBytes, slot, seq, out, cap);
    if (n == 0)
        return 0;
    out[7] = 1;  // bProtocolNum: T=1
    u8 const p[kCcidT1ParamBytes] = {0x11, 0x10, 0x00, 0x4d, 0x00, ifsc, 0x00};
    memcpy(out + kCcidHeaderBytes, p, sizeof p);
    return n;
}

u64 ccid_message_length(u8 const* msg, u32 len) {
    if (msg == nullptr || len < kCcidHeaderBytes)
        return 0;
    return kCcidHeaderBytes + static_cast<u64>(le32_at(msg + 1));
}

CcidParse ccid_parse_answer(u8 const* msg, u32 len, CcidMsg sent, u8 slot, u8 seq, CcidAnswer& out) {
    out = CcidAnswer{};
    if (msg == nullptr || len < kCcidHeaderBytes)
        return CcidParse::Incomplete;
    u32 const data_len = le32_at(msg + 1);
    if (data_len > kCcidMaxData)
        return CcidParse::Oversized;
    if (len < kCcidHeaderBytes + data_len)
        return CcidParse::Incomplete;
    if (len > kCcidHeaderBytes + data_len)
        return CcidParse::Trailing;
    if (msg[5] != slot)
        return CcidParse::WrongSlot;
    if (msg[6] != seq)  // before the type: a stale answer to another command is skipped, not fatal
        return CcidParse::WrongSeq;
    if (msg[0] != static_cast<u8>(answer_type(sent)))
        return CcidParse::WrongType;
    u8 const status = msg[7];
    u8 const icc = status & 3;
    u8 const command = static_cast<u8>(status >> 6);
    if ((status & 0x3c) != 0 || icc == 3 || command == 3)
        return CcidParse::BadStatus;
    out.type = static_cast<CcidMsg>(msg[0]);
    out.icc = static_cast<IccStatus>(icc);
    out.command = static_cast<CcidCommandStatus>(command);
    out.error = msg[8];
    out.chain = msg[9];
    out.data = msg + kCcidHeaderBytes;
    out.len = data_len;
    return CcidParse::Ok;
}

char const* describe(CcidParse p) {
    switch (p) {
    case CcidParse::Ok: return "ok";
    case CcidParse::Incomplete: return "incomplete CCID message";
    case CcidParse::Oversized: return "CCID message longer than allowed";
    case CcidParse::Trailing: return "bytes after the CCID message";
    case CcidParse::WrongType: return "unexpected CCID message type";
    case CcidParse::WrongSlot: return "CCID answer for another slot";
    case CcidParse::WrongSeq: return "CCID answer out of sequence";
    case CcidParse::BadStatus: return "invalid CCID status byte";
    }
    return "unknown CCID error";
}

char const* ccid_parse_class_descriptor(u8 const* d, u32 len, CcidReaderInfo& out) {
    out = CcidReaderInfo{};
    if (d == nullptr || len < 54 || d[0] != 54)
        return "CCID class descriptor too short";
    if (d[1] != 0x21)
        return "not a CCID class descriptor";
    out.max_slot = d[4];
    out.protocols = le32_at(d + 6);
    out.features = le32_at(d + 40);
    out.max_message = le32_at(d + 44);
    switch (out.features & 0x70000) {
    case 0x00000: out.level = CcidLevel::Character; break;
    case 0x10000: out.level = CcidLevel::Tpdu; break;
    case 0x20000: out.level = CcidLevel::ShortApdu; break;
    case 0x40000: out.level = CcidLevel::ExtendedApdu; break;
    default: return "CCID descriptor names several exchange levels";
    }
    if (out.level == CcidLevel::Character)
        return "character-level CCID readers are not supported";
    if ((out.protocols & 3) == 0)
        return "the reader offers neither T=0 nor T=1";
    if (out.max_message < kCcidHeaderBytes + 5 + 255)
        return "the reader's messages are too short for a short APDU";
    return nullptr;
}

bool parse_atr(u8 const* atr, u32 len, AtrInfo& out) {
    out = AtrInfo{};
    if (atr == nullptr || len < 2 || (atr[0] != 0x3b && atr[0] != 0x3f))
        return false;
    u32 at = 1;
    u8 y = static_cast<u8>(atr[1] >> 4);
    out.historical = atr[1] & 0x0f;
    bool any_td = false;
    for (u32 i = 0; i < 16; ++i) {  // each TDi names the next group; 16 groups bound a bad ATR
        at += 1 + interface_bytes(y);  // the T0/TDi byte, then TAi, TBi, TCi
        if ((y & 8) == 0)
            break;
        if (at >= len)
            return false;
        u8 const td = atr[at];
        any_td = true;
        u8 const t = td & 0x0f;
        out.t0 = out.t0 || t == 0;
        out.t1 = out.t1 || t == 1;
        y = static_cast<u8>(td >> 4);
        if (i >= 1 && t == 1 && out.ifsc == 0 && (y & 1) != 0 && at + 1 < len)
            out.ifsc = atr[at + 1];  // 11.4.2: TA3 (or later) after a TD2 (or later) naming T=1
    }
    if (!any_td)
        out.t0 = true;  // no TD1: T=0 only
    // The historical bytes follow; a TCK byte ends the ATR when anything but T=0 is offered.
    u32 const need = at + out.historical + (out.t1 ? 1 : 0);
    return need <= len;
}

}  // namespace tv::card
