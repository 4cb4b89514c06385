// xHCI 1.2 Transfer Request Blocks: the 16-byte unit of every ring the controller reads
// (command and transfer rings) or writes (event rings), their types and the fields the
// mediator reads or rewrites. Every TRB is shared with a DMA engine, so its size is checked;
// fields are reached through accessors on the copied value, never on guest memory.
#pragma once

#include "core/types.hpp"

namespace tv::usb {

struct Trb {
    u64 param;    // a buffer pointer, a ring pointer, immediate data or event data
    u32 status;   // transfer length, TD size, interrupter target; completion code in events
    u32 control;  // cycle, flags, type, and per type: slot, endpoint, direction
};
static_assert(sizeof(Trb) == 16);

inline constexpr u32 kTrbBytes = sizeof(Trb);

enum class TrbType : u8 {
    Reserved = 0,
    // transfer ring
    Normal = 1,
    SetupStage = 2,
    DataStage = 3,
    StatusStage = 4,
    Isoch = 5,
    Link = 6,  // every ring the controller reads
    EventData = 7,
    NoOp = 8,
    // command ring
    EnableSlot = 9,
    DisableSlot = 10,
    AddressDevice = 11,
    ConfigureEndpoint = 12,
    EvaluateContext = 13,
    ResetEndpoint = 14,
    StopEndpoint = 15,
    SetTrDequeue = 16,
    ResetDevice = 17,
    ForceEvent = 18,
    NegotiateBandwidth = 19,
    SetLatencyTolerance = 20,
    GetPortBandwidth = 21,
    ForceHeader = 22,
    NoOpCommand = 23,
    GetExtendedProperty = 24,
    SetExtendedProperty = 25,
    // event ring
    TransferEvent = 32,
    CommandCompletion = 33,
    PortStatusChange = 34,
    BandwidthRequest = 35,
    Doorbell = 36,
    HostController = 37,
    DeviceNotification = 38,
    MfindexWrap = 39,
};

// ---- control word ----
inline constexpr u32 kTrbCycle = 1u << 0;
inline constexpr u32 kTrbToggleCycle = 1u << 1;  // Link TRB: flip the consumer's cycle state
inline constexpr u32 kTrbEventDataFlag = 1u << 2;  // Transfer Event: param is Event Data, not a TRB pointer
inline constexpr u32 kTrbChain = 1u << 4;
inline constexpr u32 kTrbIoc = 1u << 5;
inline constexpr u32 kTrbIdt = 1u << 6;  // Immediate Data: param holds up to 8 bytes of data
inline constexpr u32 kTrbDeconfigure = 1u << 9;  // Configure Endpoint: no input context is read
inline constexpr u32 kTrbBsr = 1u << 9;          // Address Device: Block Set Address Request
inline constexpr u32 kTrbTypeShift = 10;
inline constexpr u32 kTrbTypeMask = 0x3Fu << kTrbTypeShift;
inline constexpr u32 kTrbDirIn = 1u << 16;  // Data and Status Stage: device to host

// ---- status word ----
inline constexpr u32 kTrbLengthMask = 0x1FFFF;  // bits 16:0
inline constexpr u32 kTrbIntrShift = 22;        // interrupter target, bits 31:22

// The largest buffer one TRB may name (xHCI 1.2, 4.11.2: at most 64 KiB) and the immediate
// data an IDT TRB may carry in its parameter.
inline constexpr u32 kMaxTrbBuffer = 64u << 10;
inline constexpr u32 kMaxImmediate = 8;

constexpr TrbType trb_type(Trb const& t) { return static_cast<TrbType>((t.control & kTrbTypeMask) >> kTrbTypeShift); }
constexpr bool trb_cycle(Trb const& t) { return (t.control & kTrbCycle) != 0; }
constexpr u32 trb_length(Trb const& t) { return t.status & kTrbLengthMask; }
constexpr u32 trb_interrupter(Trb const& t) { return t.status >> kTrbIntrShift; }
constexpr u8 trb_slot(Trb const& t) { return static_cast<u8>(t.control >> 24); }
constexpr u8 trb_endpoint(Trb const& t) { return static_cast<u8>((t.control >> 16) & 0x1F); }  // a DCI
constexpr u8 trb_completion_code(Trb const& t) { return static_cast<u8>(t.status >> 24); }

constexpr void set_trb_type(Trb& t, TrbType type) {
    t.control = (t.control & ~kTrbTypeMask) | (u32{static_cast<u8>(type)} << kTrbTypeShift);
}
constexpr void set_trb_cycle(Trb& t, bool c) { t.control = c ? t.control | kTrbCycle : t.control & ~kTrbCycle; }

// A pointer field's address bits: a ring pointer's low four bits are flags (the dequeue cycle
// state, a stream context type) or reserved.
inline constexpr u64 kTrbPointerMask = ~u64{0xF};

// Completion codes the mediator writes or reads (xHCI 1.2, table 6-90).
enum class Completion : u8 {
    Invalid = 0,
    Success = 1,
    DataBuffer = 2,
    Babble = 3,
    UsbTransaction = 4,
    Trb = 5,  // TRB Error: what a refused TRB completes with
    Stall = 6,
    Resource = 7,
    ShortPacket = 13,
    RingUnderrun = 14,
    RingOverrun = 15,
    ContextState = 19,
    EventRingFull = 21,
    CommandRingStopped = 24,
    CommandAborted = 25,
    Stopped = 26,
    StoppedLengthInvalid = 27,
    StoppedShortPacket = 28,
    ParameterError = 17,
};

char const* trb_type_name(TrbType t);

}  // namespace tv::usb
