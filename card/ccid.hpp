// CCID message framing (USB Device Class: Smart Card CCID, rev 1.1, chapter 6): the bulk-out
// commands the monitor sends to a reader and the bulk-in answers it parses, and the class
// descriptor that says how the reader exchanges data.
//
// Pure: builders write into the caller's buffer, the parser checks a copied message and
// points into it. Host-tested (tests/unit/test_ccid.cpp), fuzzed (tests/unit/fuzz_ccid.cpp).
#pragma once

#include "core/types.hpp"
#include "crypto/le.hpp"

namespace tv::card {

enum class CcidMsg : u8 {
    SetParameters = 0x61,
    IccPowerOn = 0x62,
    IccPowerOff = 0x63,
    GetSlotStatus = 0x65,
    XfrBlock = 0x6f,
    DataBlock = 0x80,   // the answer to IccPowerOn (the ATR) and XfrBlock
    SlotStatus = 0x81,  // the answer to IccPowerOff and GetSlotStatus
    Parameters = 0x82,
};

struct CcidHeader {
    u8 type;                // CcidMsg
    crypto::Le32 length;    // bytes after the header
    u8 slot;
    u8 seq;                 // echoed by the answer
    u8 specific[3];         // per message: bPowerSelect, bBWI + wLevelParameter, or bStatus, bError, ...
};
static_assert(sizeof(CcidHeader) == 10);

inline constexpr u32 kCcidHeaderBytes = sizeof(CcidHeader);
inline constexpr u32 kCcidMaxData = 512;  // our short APDUs and their answers (QEMU's bulk-in limit is 384)
inline constexpr u32 kCcidMaxMessage = kCcidHeaderBytes + kCcidMaxData;

// bStatus bits 0-1.
enum class IccStatus : u8 { Active = 0, Inactive = 1, Absent = 2 };
// bStatus bits 6-7.
enum class CcidCommandStatus : u8 { Ok = 0, Failed = 1, TimeExtension = 2 };

// Builders: the message's length, or 0 if it does not fit cap (or data is too long).
[[nodiscard]] u32 ccid_power_on(u8 slot, u8 seq, u8* out, u32 cap);
[[nodiscard]] u32 ccid_power_off(u8 slot, u8 seq, u8* out, u32 cap);
[[nodiscard]] u32 ccid_get_slot_status(u8 slot, u8 seq, u8* out, u32 cap);
[[nodiscard]] u32 ccid_xfr_block(u8 slot, u8 seq, u8 const* data, u32 len, u8* out, u32 cap);
// PC_to_RDR_SetParameters for T=1 (CCID 1.1, 6.1.7): Fi/Di 0x11 (the default rate), LRC,
// direct convention, no extra guard time, BWI 4 and CWI 13 (the defaults), the card's IFSC.
inline constexpr u32 kCcidT1ParamBytes = 7;
[[nodiscard]] u32 ccid_set_parameters_t1(u8 slot, u8 seq, u8 ifsc, u8* out, u32 cap);

struct CcidAnswer {
    CcidMsg type{};
    IccStatus icc{};
    CcidCommandStatus command{};
    u8 error{0};           // bError, meaningful when command == Failed
    u8 chain{0};           // DataBlock: bChainParameter; SlotStatus: bClockStatus; Parameters: bProtocolNum
    u8 const* data{nullptr};
    u32 len{0};
};

enum class CcidParse : u8 {
    Ok,
    Incomplete,     // fewer bytes than the header or than dwLength says: read more
    Oversized,      // dwLength beyond kCcidMaxData
    Trailing,       // more bytes than the header and dwLength
    WrongType,      // not the answer the command expects
    WrongSlot,
    WrongSeq,       // a stale answer to an earlier command
    BadStatus,      // reserved bStatus bits or values
};

// The total message length the header announces (0 if fewer than kCcidHeaderBytes bytes).
[[nodiscard]] u64 ccid_message_length(u8 const* msg, u32 len);

// Checks an answer to a command of type `sent` with this slot and seq.
[[nodiscard]] CcidParse ccid_parse_answer(u8 const* msg, u32 len, CcidMsg sent, u8 slot, u8 seq, CcidAnswer& out);
[[nodiscard]] char const* describe(CcidParse p);

// ---- the class descriptor (bDescriptorType 0x21, 54 bytes) ----------------------------------

enum class CcidLevel : u8 { Character, Tpdu, ShortApdu, ExtendedApdu };

struct CcidReaderInfo {
    u8 max_slot{0};
    u32 protocols{0};      // bit 0: T=0, bit 1: T=1
    u32 features{0};
    u32 max_message{0};    // dwMaxCCIDMessageLength
    CcidLevel level{CcidLevel::Character};
};

// nullptr with out filled, else why the descriptor is refused.
[[nodiscard]] char const* ccid_parse_class_descriptor(u8 const* d, u32 len, CcidReaderInfo& out);

// ---- the ATR (ISO 7816-3, 8.2) ----------------------------------------------------------------

struct AtrInfo {
    bool t0{false};  // T=0 offered (or implied: no TD1)
    bool t1{false};
    u32 historical{0};
    u8 ifsc{0};  // T=1: the card's information field size (the first TAi, i > 2, after T=1), 0 if none
};

// False if the ATR is malformed (too short, interface bytes past its end).
[[nodiscard]] bool parse_atr(u8 const* atr, u32 len, AtrInfo& out);

}  // namespace tv::card
