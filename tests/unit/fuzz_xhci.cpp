// libFuzzer target: the xHCI mediator's pure protocol logic (drivers/usb/xhci_*) against a
// hostile guest's rings, contexts and event ring segment table. The input is a small model of
// guest RAM (with the monitor's region inside it) and, read again from its start, the cursor
// and register values that point into it. Checks: nothing out of bounds (ASan/UBSan); the walk copies at most its bound and
// only from guest RAM; every TRB the checks accept names a buffer inside guest RAM (or carries
// immediate data); an accepted input context's added rings are in guest RAM; events land only
// in the accepted segments, and a full ring takes none.
#include <string.h>

#include "drivers/usb/xhci_check.hpp"
#include "drivers/usb/xhci_context.hpp"
#include "drivers/usb/xhci_event.hpp"
#include "drivers/usb/xhci_ring.hpp"
#include "tests/unit/fuzz_input.hpp"

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
    fuzz_ring(in, lim);
    fuzz_context(in);
    fuzz_events(in);
    return 0;
}
