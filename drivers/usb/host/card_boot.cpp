#include "drivers/usb/host/card_boot.hpp"

#include <stdio.h>
#include <string.h>

#include "card/cac.hpp"
#include "card/card_unlock.hpp"
#include "card/ccid.hpp"
#include "card/ccid_reader.hpp"
#include "card/t1.hpp"
#include "core/clock.hpp"
#include "core/console_prompt.hpp"
#include "core/log.hpp"
#include "crypto/secure_zero.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "drivers/usb/host/ehci_host.hpp"
#include "drivers/usb/host/kept_reader.hpp"
#include "drivers/usb/host/uhci_host.hpp"
#include "drivers/usb/host/usb_enum.hpp"
#include "drivers/usb/host/xhci_host.hpp"
#include "lib/new.hpp"

namespace tv::usb::host {

namespace {

class ConsolePins final : public card::UnlockConsole {
  public:
    u32 read_pin(char const* prompt, u8* pin, u32 cap) override {
        char buf[card::kMaxPinBytes + 2];
        size_t const n = prompt_read_secret(prompt, buf, sizeof buf);
        u32 const len = n < cap ? static_cast<u32>(n) : 0;
        memcpy(pin, buf, len);
        crypto::secure_zero(buf, sizeof buf);
        return n > card::kMaxPinBytes ? static_cast<u32>(cap) : len;
    }
    void say(char const* line) override {
        prompt_print(line);
        prompt_print("\n");
    }
};

// USB host controllers by PCI class 0C 03 and programming interface: the seam where the
// boot-time driver is chosen.
enum class HostKind : u8 { None, Uhci, Ehci, Xhci };

HostKind host_kind(u32 class_code) {
    switch (class_code) {
    case 0x0c0330: return HostKind::Xhci;
    case 0x0c0320: return HostKind::Ehci;
    case 0x0c0300: return HostKind::Uhci;
    default: return HostKind::None;
    }
}

// Calls try_one(bdf, kind) on each USB host controller in bus order until it returns true.
template <class F>
bool for_each_host(F&& try_one) {
    for (u32 bus = 0; bus < 256; ++bus)
        for (u8 dev = 0; dev < 32; ++dev)
            for (u8 fn = 0; fn < 8; ++fn) {
                pci::Bdf const b{static_cast<u8>(bus), dev, fn};
                u32 const id = pci::pci_config_read(b, pci::kRegVendor, 4);
                if ((id & 0xffff) == 0xffff) {
                    if (fn == 0)
                        break;
                    continue;
                }
                HostKind const kind = host_kind(pci::pci_config_read(b, pci::kRegClass, 4) >> 8);
                if (kind != HostKind::None && try_one(b, kind))
                    return true;
                if (fn == 0 && (pci::pci_config_read(b, pci::kRegHeader, 4) & (0x80u << 16)) == 0)
                    break;  // not multi-function
            }
    return false;
}

// Waits for a card (PC_to_RDR_GetSlotStatus until the slot holds one), powers it on and logs
// its ATR (not a secret).
CardBoot power_card(card::CcidReader& reader, CardBootParams const& p, u8* atr, u32& atr_len) {
    bool asked = false;
    u64 const end = clock_us() + u64{p.insert_wait_s} * 1'000'000;
    for (;;) {
        card::IccStatus icc = card::IccStatus::Absent;
        card::ReaderResult r = reader.slot_status(icc);
        if (r == card::ReaderResult::Ok)
            r = reader.power_on(atr, 64, atr_len);  // NoCard if it was pulled out meanwhile
        if (r == card::ReaderResult::Ok)
            break;
        if (r == card::ReaderResult::Failed) {
            log("card: slot status or power-on failed: %s", reader.last_error());
            return CardBoot::Failed;
        }
        if (clock_us() > end)
            return CardBoot::NoCard;
        if (!asked) {
            char line[120];
            snprintf(line, sizeof line, "thinvisor: insert the card for disk '%s' (waiting %u s)\n", p.disk_name,
                     p.insert_wait_s);
            prompt_print(line);
            asked = true;
        }
        clock_delay_us(250'000);
    }
    char hex[3 * 64 + 1] = {};
    for (u32 i = 0; i < atr_len && i < 64; ++i)
        snprintf(hex + 3 * i, 4, "%02x ", atr[i]);
    log("card: ATR %s", hex);
    return CardBoot::Unlocked;
}

CardBoot boot_result(card::CardUnlockResult r) {
    switch (r) {
    case card::CardUnlockResult::Ok: return CardBoot::Unlocked;
    case card::CardUnlockResult::NotEnrolled: return CardBoot::NotEnrolled;
    case card::CardUnlockResult::TooManyWrongPins: return CardBoot::TooManyPins;
    case card::CardUnlockResult::PinBlocked: return CardBoot::PinBlocked;
    case card::CardUnlockResult::KeyRefused: return CardBoot::KeyRefused;
    case card::CardUnlockResult::CardFailed: return CardBoot::Failed;
    }
    return CardBoot::Failed;
}

// What APDUs go over: the reader itself for T=0 at TPDU level (case 4 without Le) and for an
// APDU-level reader; T=1 blocks over it for a T=1-only card behind a TPDU-level reader that
// sets the card's parameters from its ATR by itself (CCID dwFeatures bit 1) or takes them
// from PC_to_RDR_SetParameters. nullptr, with a log line, if neither fits.
card::CardTransport* apdu_transport(card::CcidReader& reader, card::CcidReaderInfo const& info,
                                    card::AtrInfo const& ai, bool& drop_le) {
    constexpr u32 kAutoParameters = 1u << 1;
    drop_le = false;
    if (info.level != card::CcidLevel::Tpdu)
        return &reader;
    if (ai.t0) {
        drop_le = true;
        return &reader;
    }
    if (!ai.t1) {
        log("card: the card's ATR offers neither T=0 nor T=1");
        return nullptr;
    }
    u8 const ifsc = ai.ifsc != 0 ? ai.ifsc : card::kT1DefaultIfsc;
    if ((info.features & kAutoParameters) == 0 && reader.set_parameters_t1(ifsc) != card::ReaderResult::Ok) {
        log("card: the reader does not take T=1 parameters: %s", reader.last_error());
        return nullptr;
    }
    log("card: T=1 at block level (IFSC %u)", ifsc);
    alignas(card::T1Transport) static u8 t1_mem[sizeof(card::T1Transport)];
    return new (t1_mem) card::T1Transport{reader, ai.ifsc};
}

CardBoot run(UsbHost& host, FoundReader const& found, crypto::Keyslots const& ks, CardBootParams const& p,
             crypto::MasterKey& mk, u32& slot) {
    CcidInterface const& ccid = found.ccid;
    card::CcidReaderInfo const& info = found.info;
    char path[24];
    port_path(found.dev, path, sizeof path);
    log("card: CCID reader on %s port %s (speed %u), %s level", host.name(), path, static_cast<u32>(found.dev.speed),
        info.level == card::CcidLevel::Tpdu ? "TPDU" : "APDU");
    HostBulkPipe pipe{host, found.dev, ccid.bulk_in, ccid.bulk_out, ccid.in_packet};
    static card::CcidReader* reader_slot;  // keep the big objects off the 64 KiB boot stack
    alignas(card::CcidReader) static u8 reader_mem[sizeof(card::CcidReader)];
    reader_slot = new (reader_mem) card::CcidReader{pipe};
    card::CcidReader& reader = *reader_slot;
    u8 atr[64];
    u32 atr_len = 0;
    CardBoot result = power_card(reader, p, atr, atr_len);
    card::AtrInfo ai;
    bool drop_le = false;
    card::CardTransport* transport = nullptr;
    if (result == CardBoot::Unlocked && !card::parse_atr(atr, atr_len, ai))
        log("card: the card's ATR is malformed");
    else if (result == CardBoot::Unlocked)
        transport = apdu_transport(reader, info, ai, drop_le);
    if (result == CardBoot::Unlocked && transport == nullptr)
        result = CardBoot::Failed;
    if (result == CardBoot::Unlocked) {
        alignas(card::ApduChannel) static u8 channel_mem[sizeof(card::ApduChannel)];
        alignas(card::CacCard) static u8 cac_mem[sizeof(card::CacCard)];
        auto* channel = new (channel_mem) card::ApduChannel{*transport, drop_le};
        auto* cac = new (cac_mem) card::CacCard{*channel};
        ConsolePins con;
        card::CardUnlockParams up;
        up.disk_name = p.disk_name;
        up.pin_tries = p.pin_tries;
        card::CardUnlockResult const r = card::card_unlock(*cac, ks, con, up, mk, slot);
        if (r == card::CardUnlockResult::CardFailed)
            log("card: %s (last status word %04x; reader: %s)", card::describe(r), cac->last_sw(), reader.last_error());
        else
            log("card: %s", card::describe(r));
        result = boot_result(r);
        using card::ApduChannel;
        using card::CacCard;
        cac->~CacCard();
        channel->~ApduChannel();  // wipes its buffers
    }
    if (transport != nullptr && transport != &reader) {
        using card::T1Transport;
        static_cast<T1Transport*>(transport)->~T1Transport();  // wipes its block buffers
    }
    (void)reader.power_off();
    using card::CcidReader;
    reader.~CcidReader();  // wipes its buffers
    return result;
}

// [card] reader = hide: the reader's root port is recorded for the xHCI mediator, which
// hides it from the guest (drivers/usb/xhci_ports.cpp). Only the xHCI mediator can hide a
// port; on another controller the guest would see the reader, so the setting refuses it
// (before the PIN is asked) rather than break silently.
bool keep_reader(HostKind kind, pci::Bdf b, UsbDevice const& dev) {
    if (kind != HostKind::Xhci) {
        log("card: [card] reader = hide, but the reader is on a %s controller, whose ports the monitor cannot "
            "hide from the guest (xHCI only)", kind == HostKind::Ehci ? "EHCI" : "UHCI");
        return false;
    }
    keep_reader_port(b, dev.port, dev.depth > 0);
    log("card: the reader's root port %u of xHCI %02x:%02x.%u is kept from the guest ([card] reader = hide)%s",
        dev.port, b.bus, b.dev, b.fn, dev.depth > 0 ? ", with the hub in front of it and all behind that hub" : "");
    return true;
}

// Starts the controller's driver, looks for the reader and runs the unlock on it; the
// controller is reset afterwards either way, so the guest (and the mediators) find it as
// after power-on. True if a reader was found (r holds the outcome).
template <class Host>
bool try_host(Host& host, HostKind kind, pci::Bdf b, FoundReader& found, crypto::Keyslots const& ks,
              CardBootParams const& p, crypto::MasterKey& mk, u32& slot, CardBoot& r) {
    host = Host{};
    bool have = false;
    if (!host.start(b))
        log("card: the %s controller at %02x:%02x.%u could not be started", host.name(), b.bus, b.dev, b.fn);
    else if ((have = find_reader(host, found)))
        r = p.hide_reader && !keep_reader(kind, b, found.dev) ? CardBoot::CannotHide : run(host, found, ks, p, mk, slot);
    host.stop();
    return have;
}

}  // namespace

CardBoot card_boot_unlock(crypto::Keyslots const& ks, CardBootParams const& p, crypto::MasterKey& mk, u32& slot) {
    static XhciHost xhci;  // ~9 KiB of ring bookkeeping: not on the boot stack
    static EhciHost ehci;
    static UhciHost uhci;
    static FoundReader found;
    CardBoot r = CardBoot::NoReader;
    bool any = false;
    bool const done = for_each_host([&](pci::Bdf b, HostKind kind) {
        any = true;
        switch (kind) {
        case HostKind::Xhci: return try_host(xhci, kind, b, found, ks, p, mk, slot, r);
        case HostKind::Ehci: return try_host(ehci, kind, b, found, ks, p, mk, slot, r);
        default: return try_host(uhci, kind, b, found, ks, p, mk, slot, r);
        }
    });
    if (!any)
        log("card: no USB host controller");
    else if (!done)
        log("card: no CCID reader on the USB host controllers");
    crypto::secure_zero(&found, sizeof found);
    return r;
}

}  // namespace tv::usb::host
