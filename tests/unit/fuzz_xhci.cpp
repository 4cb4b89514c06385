// libFuzzer target: the xHCI mediator's pure protocol logic (drivers/usb/xhci_*) against a
// hostile guest's rings, contexts and event ring segment table. The input is a small model of
// guest RAM (with the monitor's region inside it) and, read again from its start, the cursor
// and register values that point into it. Checks: nothing out of bounds (ASan/UBSan); the walk copies at most its bound and
// only from guest RAM; every TRB the checks accept names a buffer inside guest RAM (or carries
// immediate data); an accepted input context's added rings are in guest RAM; events land only
// in the accepted segments, and a full ring takes none.
#include <string.h>

#include "drivers/usb/usb_bot.hpp"
#include "drivers/usb/usb_identity.hpp"
#include "drivers/usb/xhci_check.hpp"
#include "drivers/usb/xhci_context.hpp"
#include "drivers/usb/xhci_event.hpp"
#include "drivers/usb/xhci_ring.hpp"
#include "tests/unit/fuzz_input.hpp"
#include "tests/unit/test_xhci_fake_hc.hpp"

using namespace tv;
using namespace tv::usb;

namespace {

constexpr u64 kRam = 64u << 10;
constexpr u64 kHiddenBase = 0x8000, kHiddenEnd = 0x9000;

bool in_ram(u64 gpa, u64 len) {
    u64 const end = gpa + len;
    return len && end > gpa && end <= kRam && (end <= kHiddenBase || gpa >= kHiddenEnd);
}

class Ram final : public GuestView {
  public:
    bool ok(Gpa gpa, u64 len) const override { return in_ram(gpa.raw, len); }
    bool read(Gpa gpa, void* dst, u64 len) const override {
        if (!ok(gpa, len)) return false;
        memcpy(dst, bytes + gpa.raw, len);
        return true;
    }
    bool write(Gpa gpa, void const* src, u64 len) const override {
        check(ok(gpa, len), "an event written outside guest RAM");
        memcpy(bytes + gpa.raw, src, len);
        return true;
    }
    mutable u8 bytes[kRam];
};

Ram g_ram;

void fuzz_ring(Input& in, TrbLimits const& lim) {
    RingCursor cur{Gpa{in.take<u16>() & ~u64{0xF}}, (in.take<u8>() & 1) != 0};
    u32 const max = in.take<u8>() % 64 + 1;
    static CopiedTrb out[64];
    WalkResult r = ring_walk(g_ram, &cur, out, max);
    check(r.count <= max, "the walk copied past its bound");
    for (u32 i = 0; i < r.count; ++i) {
        check(in_ram(out[i].from.raw, kTrbBytes), "a TRB copied from outside guest RAM");
        check(trb_type(out[i].trb) != TrbType::Link, "a link TRB copied");
        Trb const& t = out[i].trb;
        if (check_transfer_trb(g_ram, t, lim)) continue;
        bool const data = trb_type(t) == TrbType::Normal || trb_type(t) == TrbType::DataStage ||
                          trb_type(t) == TrbType::Isoch;
        if (data && !(t.control & kTrbIdt) && trb_length(t))
            check(in_ram(t.param, trb_length(t)) && trb_length(t) <= kMaxTrbBuffer, "an accepted buffer outside RAM");
        CommandCheck c = check_command_trb(g_ram, t, lim);
        if (!c.why && c.kind == CommandKind::InputContext)
            check(in_ram(t.param, lim.input_context_bytes), "an accepted input context outside RAM");
    }
}

void fuzz_context(Input& in) {
    ContextLayout const layout((in.take<u8>() & 1) != 0);
    u64 const at = in.take<u16>() % (kRam - 33 * 64);
    alignas(64) static u8 copy[33 * 64];
    memcpy(copy, g_ram.bytes + at, layout.input_bytes());
    InputUse const use = static_cast<InputUse>(in.take<u8>() % 3);
    u32 adds = 0;
    if (check_input_context(g_ram, copy, layout, use, 1, &adds) || use == InputUse::EvaluateContext) return;
    for (u32 dci = 1; dci <= kMaxDci; ++dci)
        if (adds >> dci & 1) check(in_ram(input_ep(copy, layout, dci).dequeue().raw, 16), "an accepted ring outside RAM");
}

void fuzz_events(Input& in) {
    static GuestEventRing ring;
    Gpa const erstba{in.take<u16>()};
    u32 const erstsz = in.take<u8>() % 10;
    if (ring.load(g_ram, erstba, erstsz, 8)) return check(!ring.loaded(), "a refused table left loaded");
    for (u32 n = in.take<u8>(); n > 0; --n) {
        if (in.take<u8>() & 1) (void)ring.set_dequeue(Gpa{in.take<u16>()});
        bool const was_full = ring.full();
        Gpa const at = ring.producer();
        Trb ev{in.take<u64>(), in.take<u32>(), in.take<u32>()};
        bool const pushed = ring.push(g_ram, ev);
        check(!(was_full && pushed), "an event pushed into a full ring");
        if (pushed) check(in_ram(at.raw, kTrbBytes), "an event outside guest RAM");
    }
}

// A CBW and its CDB: decoded without reading past either, a media command's data stage
// accepted only at exactly its blocks.
void fuzz_bot(Input& in) {
    u8 buf[kCbwBytes];
    for (u8& b : buf) b = in.take<u8>();
    UsbIdentity id{};
    if (!parse_serial_string(buf, in.take<u8>() % (sizeof buf + 1), &id))
        for (char const* p = id.serial; *p; ++p) check(*p >= 0x20 && *p <= 0x7E, "a serial accepted unprintable");
    (void)parse_device_descriptor(buf, sizeof buf, &id);
    Cbw c{};
    if (parse_cbw(buf, sizeof buf, &c)) return;
    check(c.cb_length >= 1 && c.cb_length <= 16, "an accepted CBW with a bad command block length");
    ScsiCommand const cmd = scsi_decode(c.cb, c.cb_length);
    u32 const bs = (in.take<u8>() & 1) ? 4096 : 512;
    if (check_data_stage(c, cmd, bs)) return;
    if (cmd.cls == ScsiClass::Read || cmd.cls == ScsiClass::Write)
        check(u64{cmd.blocks} * bs == c.data_length, "a media command accepted with another data length");
    else
        check(cmd.cls == ScsiClass::Passthrough, "a refused command's data stage accepted");
}

// The whole mediator against a script of guest register writes, doorbells, guest-memory
// writes and device events: whatever the guest does, the device holds only monitor pointers,
// and every buffer in a shadow ring is guest RAM or the monitor's sink.
void fuzz_controller(Input& in) {
    using namespace tv::usb::test;
    // One of each, reused: a fresh 1 MiB of guest RAM per input was most of the time.
    static FakeHc* const hc = new FakeHc;
    static XhciController* const x = new XhciController;
    hc->reset((in.take<u8>() & 1) != 0);
    zero_fill(hc->g.ram.data(), hc->g.ram.size());
    *x = XhciController{};
    x->init(hc, hc->dma());
    check(x->take_over(Hpa{0}), "the fake controller did not come back from reset");
    for (u32 ops = 0; in.n && ops < 96; ++ops) {
        u8 const op = in.take<u8>();
        u32 const v = in.take<u32>();
        switch (op % 7) {
        case 0: x->write(kOp + (op / 7 % 16) * 4, 4, v); break;
        case 1: x->write(kRt + kIntr0 + (op / 7 % 8) * 4, 4, v); break;
        case 2: x->write(kDb + (op / 7 % 20) * 4, 4, v & 0x1F); break;
        case 3: (void)x->read(kOp + kUsbSts, 4); break;
        case 4: {
            u64 const at = (u64{v} << 4) % kRam;
            Trb t{in.take<u64>(), in.take<u32>(), in.take<u32>()};
            (void)hc->g.write(Gpa{at}, &t, sizeof t);
            break;
        }
        case 5: {
            if (!hc->in_dma(hc->reg64(kRt + kIntr0 + kErstBa))) break;
            Trb ev{in.take<u64>(), in.take<u32>(), in.take<u32>()};
            if (op & 0x80) ev.param = kDevBase + (v % (u64{kDmaPages} * kPageSize));  // near a shadow TRB
            hc->event(ev);
            break;
        }
        default: (void)x->read(v % 0x4000, 4); break;
        }
        for (u32 reg : {kOp + kCrcr, kOp + kDcbaap, kRt + kIntr0 + kErstBa}) {
            u64 const p = hc->reg64(reg) & ~u64{0x3F};
            check(p == 0 || hc->in_dma(p), "the device holds a pointer outside the monitor's memory");
        }
    }
    // Only ring pages hold TRBs (the command ring, then the pool); contexts, tables and the
    // event ring elsewhere may look like anything.
    u64 const pool = 3 + kMaxSlots * kSlotPages;
    for (u64 off = 0; off < (pool + kRingPool) * kPageSize; off += kTrbBytes) {
        if (off == kPageSize) off = pool * kPageSize;
        Trb const& t = *reinterpret_cast<Trb const*>(hc->mem + off);
        TrbType const type = trb_type(t);
        if ((type != TrbType::Normal && type != TrbType::DataStage && type != TrbType::Isoch) ||
            (t.control & kTrbIdt) || !trb_length(t))
            continue;
        bool const guest = hc->g.ok(Gpa{t.param}, trb_length(t));
        bool const sink = hc->in_dma(t.param) && hc->in_dma(t.param + trb_length(t) - 1);
        check(guest || sink, "a shadow ring names a buffer outside guest RAM and the sink");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    // The input is read twice: as guest RAM from address 0, and as the script of values that
    // says where the rings, contexts and table are (pointers into that same RAM).
    memset(g_ram.bytes, 0, sizeof g_ram.bytes);
    memcpy(g_ram.bytes, data, size < kRam ? size : kRam);
    Input in{data, size};
    TrbLimits lim;
    lim.interrupters = 1;
    lim.max_slots = static_cast<u8>(in.take<u8>() % 64);
    lim.input_context_bytes = (in.take<u8>() & 1) ? 33 * 64 : 33 * 32;
    u8 const which = in.take<u8>();
    if (which % 4 == 3) {
        fuzz_controller(in);
        return 0;
    }
    fuzz_ring(in, lim);
    fuzz_context(in);
    fuzz_events(in);
    fuzz_bot(in);
    return 0;
}
