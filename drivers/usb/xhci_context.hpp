// xHCI 1.2 device contexts (6.2) as the mediator reads them from its own copies: the slot
// context, the endpoint contexts, the input control context, and their place in a device or
// input context, 32 or 64 bytes apart (HCCPARAMS1.CSZ). Only a context's first 32 bytes carry
// fields; the rest of a 64-byte context is reserved.
//
// A device context is the slot context then endpoint contexts 1-31 (DCI 1 is endpoint 0); an
// input context puts the input control context in front of the same layout.
#pragma once

#include "drivers/usb/xhci_ring.hpp"

namespace tv::usb {

struct SlotContext {
    u32 dw[8];
    u8 context_entries() const { return static_cast<u8>(dw[0] >> 27); }
    u8 root_port() const { return static_cast<u8>(dw[1] >> 16); }
    u16 interrupter() const { return static_cast<u16>(dw[2] >> 22); }
    u8 address() const { return static_cast<u8>(dw[3]); }
    u8 state() const { return static_cast<u8>(dw[3] >> 27); }
};
static_assert(sizeof(SlotContext) == 32);

enum class EpType : u8 { NotValid = 0, IsochOut, BulkOut, InterruptOut, Control, IsochIn, BulkIn, InterruptIn };

struct EpContext {
    u32 dw[8];
    u8 state() const { return static_cast<u8>(dw[0] & 7); }
    u8 max_pstreams() const { return static_cast<u8>((dw[0] >> 10) & 0x1F); }
    EpType type() const { return static_cast<EpType>((dw[1] >> 3) & 7); }
    u16 max_packet() const { return static_cast<u16>(dw[1] >> 16); }
    // The TR Dequeue Pointer: bit 0 is the dequeue cycle state, bits 3:1 reserved (no streams).
    u64 dequeue_raw() const { return u64{dw[2]} | u64{dw[3]} << 32; }
    Gpa dequeue() const { return Gpa{dequeue_raw() & ~u64{0xF}}; }
    bool dcs() const { return dw[2] & 1; }
    void set_dequeue(u64 addr, bool dcs) {
        u64 const v = (addr & ~u64{0xF}) | (dcs ? 1 : 0);
        dw[2] = static_cast<u32>(v);
        dw[3] = static_cast<u32>(v >> 32);
    }
};
static_assert(sizeof(EpContext) == 32);

struct InputControlContext {
    u32 drop;  // D2-D31
    u32 add;   // A0-A31
    u32 reserved[5];
    u32 config;  // configuration value, interface number, alternate setting
};
static_assert(sizeof(InputControlContext) == 32);

inline constexpr u32 kMaxDci = 31;         // endpoint contexts 1-31
inline constexpr u32 kDeviceContexts = 32;  // slot + 31 endpoints
inline constexpr u32 kInputContexts = 33;   // input control + slot + 31 endpoints

class ContextLayout {
  public:
    constexpr explicit ContextLayout(bool csz64) : stride_(csz64 ? 64 : 32) {}
    constexpr u32 stride() const { return stride_; }
    constexpr u32 device_bytes() const { return kDeviceContexts * stride_; }
    constexpr u32 input_bytes() const { return kInputContexts * stride_; }
    // Offsets in a device context (dci 0: the slot context) and in an input context.
    constexpr u32 device_offset(u32 dci) const { return dci * stride_; }
    constexpr u32 input_offset(u32 dci) const { return (dci + 1) * stride_; }

  private:
    u32 stride_;
};

// An input context the mediator copied: nullptr when the device may read it, else why not.
// Every endpoint it adds must name a transfer ring the mediator can walk: a 16-byte aligned
// dequeue pointer in guest memory, no streams (MaxPStreams 0: the mediator advertises none).
// Address Device must add the slot context (A0) and endpoint 0 (A1) and nothing else; Evaluate
// Context may add only those two (and reads no dequeue pointer); Configure Endpoint may not
// drop or add endpoint 0. A slot context it adds must target an interrupter below
// `interrupters`. ctx is the monitor's copy, layout.input_bytes() long; *adds receives the
// add flags the command acts on.
enum class InputUse : u8 { AddressDevice, ConfigureEndpoint, EvaluateContext };
[[nodiscard]] char const* check_input_context(GuestView const& g, u8 const* ctx, ContextLayout layout, InputUse use,
                                              u32 interrupters, u32* adds);

InputControlContext const& input_control(u8 const* ctx);
SlotContext& input_slot(u8* ctx, ContextLayout layout);
EpContext& input_ep(u8* ctx, ContextLayout layout, u32 dci);
EpContext const& input_ep(u8 const* ctx, ContextLayout layout, u32 dci);
SlotContext const& device_slot(u8 const* ctx);
EpContext const& device_ep(u8 const* ctx, ContextLayout layout, u32 dci);
EpContext& device_ep(u8* ctx, ContextLayout layout, u32 dci);

}  // namespace tv::usb
