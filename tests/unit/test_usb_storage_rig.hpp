// A USB stick behind the xHCI mediator, for the mass-storage tests: the fake controller,
// a slot enumerated through the mediator (device, configuration and serial descriptors
// bounced), its two bulk endpoints configured, and helpers that play the device's side of
// BOT (read the shadow TRBs the mediator gave it, write what the device would, post events).
#pragma once

#include <gtest/gtest.h>
#include <string.h>

#include <memory>
#include <vector>

#include "drivers/usb/xhci_controller.hpp"
#include "storage/key_table.hpp"
#include "tests/unit/test_xhci_fake_hc.hpp"

namespace tv::usb::test {

inline constexpr u64 kSDcbaa = 0x10000, kSCmds = 0x11000, kSErst = 0x12000, kSEvents = 0x13000;
inline constexpr u64 kSIn = 0x14000, kSOut = 0x15000, kSEp0 = 0x16000, kSBulkOut = 0x18000, kSBulkIn = 0x19000;
inline constexpr u64 kSBuf = 0x20000, kSData = 0x30000;
inline constexpr u32 kSEventTrbs = 256;
inline constexpr u8 kDciIn = 3, kDciOut = 4;  // endpoint 0x81 in, 0x02 out (as QEMU's usb-storage)

inline storage::KeyEntry usb_key(char const* serial) {
    storage::KeyEntry e{};
    strcpy(e.serial, serial);
    e.bus = storage::Bus::Usb;
    e.data_unit = 512;
    for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(0x5A + i * 7);
    return e;
}

struct StickRig {
    // rule: what the fake's usb_rule answers; serial: the stick's serial string.
    class Hc final : public XhciEnv {
      public:
        FakeHc base;
        UsbRule rule{UsbRule::Allow};
        u64 dev_read(u32 off, u8 size) override { return base.dev_read(off, size); }
        void dev_write(u32 off, u8 size, u64 value) override { base.dev_write(off, size, value); }
        GuestView const& guest() override { return base.g; }
        void refused(char const* what, char const* why) override { base.refused(what, why); }
        void note(char const* what) override { base.note(what); }
        void delay_us(u32) override {}
        UsbRule usb_rule(UsbIdentity const&, bool) override { return rule; }
    };

    explicit StickRig(UsbRule rule = UsbRule::Allow, char const* serial = "TVUSB1") {
        hc.rule = rule;
        x.init(&hc, hc.base.dma());
        bounce_mem = static_cast<u8*>(aligned_alloc(kPageSize, u64{kBounceRegions} * kBounceBytes));
        x.set_bounce(DmaMem{bounce_mem, Hpa{kBounceDev}}, kBounceRegions);
        EXPECT_TRUE(x.take_over(Hpa{0}));
        w64(kOp + kDcbaap, kSDcbaa);
        w64(kOp + kCrcr, kSCmds | 1);
        x.write(kOp + kConfig, 4, 8);
        ErstEntry e{kSEvents, kSEventTrbs, 0};
        EXPECT_TRUE(g().write(Gpa{kSErst}, &e, sizeof e));
        x.write(kRt + kIntr0 + kErstSz, 4, 1);
        w64(kRt + kIntr0 + kErstBa, kSErst);
        w64(kRt + kIntr0 + kErdp, kSEvents);
        u64 out = kSOut;
        EXPECT_TRUE(g().write(Gpa{kSDcbaa + 8}, &out, 8));
        x.write(kOp + kUsbCmd, 4, kCmdRun);
        serial_ = serial;
    }
    ~StickRig() { free(bounce_mem); }

    static constexpr u64 kBounceDev = 0x50000000;
    FakeGuest& g() { return hc.base.g; }
    FakeHc& f() { return hc.base; }
    // The device's view of an address the mediator gave it: the controller's DMA pages or a bounce.
    u8* dev(u64 a) { return a >= kBounceDev ? bounce_mem + (a - kBounceDev) : f().virt(a); }
    Trb& dev_trb(u64 a) { return *reinterpret_cast<Trb*>(dev(a)); }
    void w64(u32 off, u64 v) {
        x.write(off, 4, v & 0xFFFFFFFF);
        x.write(off + 4, 4, v >> 32);
    }
    u64 shadow_cmd(u32 i) { return (f().device_crcr() & ~u64{0x3F}) + i * 16; }
    void command(TrbType t, u64 param, u32 flags) {
        g().put(kSCmds + cmd_i * 16, t, true, param, 0, flags);
        x.write(kDb, 4, 0);
        ++cmd_i;
    }
    void complete_cmd(u32 i, u8 slot) {
        Trb ev{shadow_cmd(i), 1u << 24, u32{slot} << 24};
        set_trb_type(ev, TrbType::CommandCompletion);
        f().event(ev);
        drain();
    }
    void drain() { (void)x.read(kOp + kUsbSts, 4); }
    // The guest's events so far, in order.
    Trb const& guest_event(u32 i) { return g().trb(kSEvents + i * 16); }
    Trb const* last_transfer_event() {
        Trb const* last = nullptr;
        for (u32 i = 0; i < kSEventTrbs && trb_cycle(guest_event(i)); ++i)
            if (trb_type(guest_event(i)) == TrbType::TransferEvent) last = &guest_event(i);
        return last;
    }

    void transfer_event(u64 shadow, u8 dci, Completion code, u32 residue = 0) {
        Trb ev{shadow, u32{static_cast<u8>(code)} << 24 | residue, 1u << 24 | u32{dci} << 16};
        set_trb_type(ev, TrbType::TransferEvent);
        f().event(ev);
        drain();
    }

    // Enable Slot, Address Device (endpoint 0's ring at kSEp0).
    void address() {
        command(TrbType::EnableSlot, 0, 0);
        complete_cmd(cmd_i - 1, 1);
        u32 adds[2] = {0, 3};
        EXPECT_TRUE(g().write(Gpa{kSIn}, adds, sizeof adds));
        u32 ep0[4] = {0, 4u << 3 | 64u << 16, static_cast<u32>(kSEp0 | 1), 0};
        EXPECT_TRUE(g().write(Gpa{kSIn + 64}, ep0, sizeof ep0));
        command(TrbType::AddressDevice, kSIn, 1u << 24);
        ep0_shadow = input_ep(dev(dev_trb(shadow_cmd(cmd_i - 1)).param), ContextLayout(false), 1).dequeue().raw;
        complete_cmd(cmd_i - 1, 1);
    }

    // A control transfer with an IN data stage the device answers with `data`; returns the
    // device address of the data stage's shadow TRB.
    u64 control_in(u64 setup, std::vector<u8> const& data, u64 guest_buf = kSBuf) {
        u32 const len = static_cast<u32>(setup >> 48);
        g().put(kSEp0 + ep0_i * 16, TrbType::SetupStage, true, setup, 8, kTrbIdt);
        g().put(kSEp0 + (ep0_i + 1) * 16, TrbType::DataStage, true, guest_buf, len, kTrbDirIn);
        g().put(kSEp0 + (ep0_i + 2) * 16, TrbType::StatusStage, true, 0, 0, kTrbIoc);
        x.write(kDb + 4, 4, 1);
        u64 const data_trb = ep0_shadow + (ep0_i + 1) * 16, status_trb = ep0_shadow + (ep0_i + 2) * 16;
        ep0_i += 3;
        memcpy(dev(dev_trb(data_trb).param), data.data(), data.size() < len ? data.size() : len);
        if (data.size() < len) transfer_event(data_trb, 1, Completion::ShortPacket, static_cast<u32>(len - data.size()));
        transfer_event(status_trb, 1, Completion::Success);
        return data_trb;
    }
    void control_out(u64 setup) {
        g().put(kSEp0 + ep0_i * 16, TrbType::SetupStage, true, setup, 8, kTrbIdt);
        g().put(kSEp0 + (ep0_i + 1) * 16, TrbType::StatusStage, true, 0, 0, kTrbIoc | kTrbDirIn);
        x.write(kDb + 4, 4, 1);
        ep0_i += 2;
    }

    static std::vector<u8> device_descriptor() {
        return {18, 1, 0x00, 0x02, 0, 0, 0, 64, 0xF4, 0x46, 0x01, 0x00, 0, 0, 1, 2, 3, 1};
    }
    static std::vector<u8> config_descriptor(u8 protocol = 0x50) {
        return {9, 2, 32, 0, 1, 1, 0, 0x80, 50,  // configuration 1
                9, 4, 0, 0, 2, 0x08, 0x06, protocol, 0,  // interface 0: mass storage
                7, 5, 0x81, 2, 0x00, 0x02, 0,  // bulk in 1
                7, 5, 0x02, 2, 0x00, 0x02, 0};  // bulk out 2
    }
    static std::vector<u8> string_descriptor(char const* s) {
        std::vector<u8> d{static_cast<u8>(2 + 2 * strlen(s)), 3};
        for (char const* p = s; *p; ++p) d.push_back(static_cast<u8>(*p)), d.push_back(0);
        return d;
    }

    // Enumerates the stick as Linux does and configures its bulk endpoints.
    void enumerate(bool read_config = true) {
        address();
        control_in(0x0012000001000680, device_descriptor());
        if (read_config) control_in(0x0020000002000680, config_descriptor());
        control_in(0x00FF040903030680, string_descriptor(serial_));
        u32 adds[2] = {0, 1u | 1u << kDciIn | 1u << kDciOut};
        ASSERT_TRUE(g().write(Gpa{kSIn}, adds, sizeof adds));
        u32 in[4] = {0, 6u << 3 | 512u << 16, static_cast<u32>(kSBulkIn | 1), 0};
        u32 out[4] = {0, 2u << 3 | 512u << 16, static_cast<u32>(kSBulkOut | 1), 0};
        ASSERT_TRUE(g().write(Gpa{kSIn + (kDciIn + 1) * 32}, in, sizeof in));
        ASSERT_TRUE(g().write(Gpa{kSIn + (kDciOut + 1) * 32}, out, sizeof out));
        command(TrbType::ConfigureEndpoint, kSIn, 1u << 24);
        u8* ic = dev(dev_trb(shadow_cmd(cmd_i - 1)).param);
        in_shadow = input_ep(ic, ContextLayout(false), kDciIn).dequeue().raw & ~u64{0xF};
        out_shadow = input_ep(ic, ContextLayout(false), kDciOut).dequeue().raw & ~u64{0xF};
        complete_cmd(cmd_i - 1, 1);
        control_out(0x0000000000010900);  // SET_CONFIGURATION 1
    }

    // The guest queues a CBW on the bulk-out ring; returns its shadow TRB.
    u64 cbw(u32 tag, u32 length, bool in, std::vector<u8> const& cdb, u64 at = kSBuf) {
        Cbw c{kCbwSignature, tag, length, static_cast<u8>(in ? 0x80 : 0), 0, static_cast<u8>(cdb.size()), {}};
        memcpy(c.cb, cdb.data(), cdb.size());
        EXPECT_TRUE(g().write(Gpa{at}, &c, sizeof c));
        return out_trb(at, kCbwBytes);
    }
    u64 out_trb(u64 buf, u32 len, u32 flags = kTrbIoc) {
        g().put(kSBulkOut + out_i * 16, TrbType::Normal, true, buf, len, flags);
        x.write(kDb + 4, 4, kDciOut);
        return out_shadow + 16 * out_i++;
    }
    u64 in_trb(u64 buf, u32 len, u32 flags = kTrbIoc) {
        g().put(kSBulkIn + in_i * 16, TrbType::Normal, true, buf, len, flags);
        x.write(kDb + 4, 4, kDciIn);
        return in_shadow + 16 * in_i++;
    }
    // The device answers the CBW with a CSW into the shadow CSW TRB, status as it ran it.
    Csw csw(u32 tag, u8 status = 0, u32 residue = 0, u64 at = kSBuf + 0x800) {
        u64 const t = in_trb(at, kCswBytes);
        Csw w{kCswSignature, tag, residue, status};
        memcpy(dev(dev_trb(t).param), &w, sizeof w);
        transfer_event(t, kDciIn, Completion::Success);
        Csw got{};
        EXPECT_TRUE(g().read(Gpa{at}, &got, sizeof got));
        return got;
    }
    // READ CAPACITY (10): last LBA 2047, 512-byte blocks.
    void read_capacity() {
        (void)cbw(1, 8, true, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        u64 const t = in_trb(kSBuf + 0x400, 8);
        u8 cap[8] = {0, 0, 0x07, 0xFF, 0, 0, 0x02, 0x00};
        memcpy(dev(dev_trb(t).param), cap, 8);
        transfer_event(t, kDciIn, Completion::Success);
        (void)csw(1);
    }

    Hc hc;
    XhciController x;
    u8* bounce_mem{nullptr};
    char const* serial_{"TVUSB1"};
    u32 cmd_i{0}, ep0_i{0}, out_i{0}, in_i{0};
    u64 ep0_shadow{0}, in_shadow{0}, out_shadow{0};
};

inline std::vector<u8> cdb10(u8 op, u32 lba, u16 blocks) {
    return {op, 0, static_cast<u8>(lba >> 24), static_cast<u8>(lba >> 16), static_cast<u8>(lba >> 8), static_cast<u8>(lba),
            0, static_cast<u8>(blocks >> 8), static_cast<u8>(blocks), 0};
}

}  // namespace tv::usb::test
