// A CCID reader driven over its bulk pipes: power the card on (the ATR), ask for the slot's
// status, and move APDUs in XfrBlock messages (a CardTransport for ApduChannel). The USB side
// is a BulkPipe: drivers/usb/host/ implements it on xHCI at boot, the unit tests with a fake.
//
// Answers are read a packet at a time until the header's dwLength is complete (no reliance on
// a short packet ending the transfer); answers to an earlier sequence number are skipped; time
// extension requests are waited out a bounded number of times. Both message buffers are wiped
// after every exchange (PIN and key pass through them).
#pragma once

#include "card/apdu.hpp"
#include "card/ccid.hpp"

namespace tv::card {

class BulkPipe {
  public:
    virtual ~BulkPipe() = default;
    [[nodiscard]] virtual bool bulk_out(u8 const* data, u32 len) = 0;
    // One bulk-in transfer of up to cap bytes (cap is at most one packet); got is what came.
    // False on an error or when nothing came in time.
    [[nodiscard]] virtual bool bulk_in(u8* buf, u32 cap, u32& got) = 0;
    virtual u32 max_packet() const = 0;
};

enum class ReaderResult : u8 { Ok, NoCard, Failed };

class CcidReader final : public CardTransport {
  public:
    explicit CcidReader(BulkPipe& pipe, u8 slot = 0) : pipe_{pipe}, slot_{slot} {}
    ~CcidReader() override;
    CcidReader(CcidReader const&) = delete;
    CcidReader& operator=(CcidReader const&) = delete;

    [[nodiscard]] ReaderResult power_on(u8* atr, u32 cap, u32& len);
    [[nodiscard]] ReaderResult power_off();
    [[nodiscard]] ReaderResult slot_status(IccStatus& icc);
    // T=1 with the card's IFSC (a TPDU-level reader that does not take them from the ATR).
    [[nodiscard]] ReaderResult set_parameters_t1(u8 ifsc);
    [[nodiscard]] bool transmit(u8 const* cmd, u32 len, u8* answer, u32 cap, u32& answer_len) override;

    char const* last_error() const { return error_; }

  private:
    [[nodiscard]] ReaderResult command(CcidMsg type, u8 const* data, u32 len, CcidAnswer& answer);
    [[nodiscard]] bool read_message(u32& len);
    void wipe();
    BulkPipe& pipe_;
    u8 slot_;
    u8 seq_{0};
    char const* error_{""};
    u8 out_[kCcidMaxMessage];
    u8 in_[kCcidMaxMessage + 64];  // a packet may end past the message
};

}  // namespace tv::card
