// libFuzzer target: the EHCI mediator (drivers/usb/ehci_*) against a hostile guest's schedule.
// The input is a script: guest writes of QHs, qTDs and single words anywhere in a 1 MiB model
// of guest RAM (the monitor's region inside it), register writes (ASYNCLISTADDR, USBCMD with
// the doorbell, resets, both schedules and the frame list size, PERIODICLISTBASE,
// CTRLDSSEGMENT), USBSTS reads, clock ticks, frame index steps, and passes of the fake
// controller (tests/unit/test_ehci_fake.hpp) over the async shadow and over one frame of the
// periodic one, and a controller taken again whose frame list size is programmable.
// Checks: nothing out of bounds (ASan/UBSan); the controller only ever follows pointers into
// the monitor's shadow memory, and every buffer it moves is guest RAM, whole; in the periodic
// schedule it meets only QHs, never a loop, never a chain of 64.
#include <string.h>

#include <memory>

#include "tests/unit/fuzz_input.hpp"
#include "tests/unit/test_ehci_fake.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

enum class Op : u8 { Word, Qh, Qtd, AsyncAddr, Cmd, StsRead, Tick, Run, Advance, Reg, ListBase, Frame, FrIndex, ProgList, kCount };

u32 guest_addr(Input& in, u32 align) { return (u32{in.take<u16>()} * align) % static_cast<u32>(kRam); }

void step(Input& in, FakeEhci& f, EhciController& c) {
    auto const o = static_cast<Op>(in.take<u8>() % static_cast<u8>(Op::kCount));
    switch (o) {
        case Op::Word: {
            u32 const at = guest_addr(in, 4);
            u32 const v = in.take<u32>();
            memcpy(f.g.ram.data() + at, &v, 4);
            break;
        }
        case Op::Qh: {
            u32 const at = guest_addr(in, 32) & ~31u;
            if (at + sizeof(Qh) <= kRam) {
                Qh q = in.take<Qh>();
                memcpy(f.g.ram.data() + at, &q, sizeof q);
            }
            break;
        }
        case Op::Qtd: {
            u32 const at = guest_addr(in, 32) & ~31u;
            Qtd t = in.take<Qtd>();
            if (in.take<u8>() & 1) t.token |= kQtdActive;
            memcpy(f.g.ram.data() + at, &t, sizeof t);
            break;
        }
        case Op::AsyncAddr: c.write(kOpBase + op(EhciOp::AsyncListAddr), 4, guest_addr(in, 32)); break;
        case Op::Cmd: c.write(kOpBase + op(EhciOp::UsbCmd), 4, in.take<u8>()); break;
        case Op::StsRead: (void)c.read(kOpBase + op(EhciOp::UsbSts), 4); break;
        case Op::Tick: c.tick(); break;
        case Op::Run: f.run(in.take<u8>()); break;
        case Op::Advance: f.advance(); break;
        case Op::Reg: {
            u32 const off = kOpBase + (in.take<u8>() & 0x1C);
            u8 const size = (in.take<u8>() & 1) ? 4 : 2;
            u32 const v = in.take<u32>();
            if (in.take<u8>() & 1) c.write(off, size, v);
            else (void)c.read(off, size);
            break;
        }
        case Op::ListBase: c.write(kOpBase + op(EhciOp::PeriodicListBase), 4, guest_addr(in, 4096)); break;
        case Op::Frame: f.run_frame(in.take<u16>(), in.take<u8>()); break;
        case Op::FrIndex: f.frindex = (f.frindex + in.take<u8>()) & kFrIndexMask; break;
        case Op::ProgList:  // a controller whose frame list size the guest chooses, taken afresh
            f.hccparams = 0x80 | kHccProgFrameList;
            c = EhciController{};
            check(c.init(&f, f.mem()), "the controller was not taken");
            break;
        case Op::kCount: break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static FakeEhci* f = new FakeEhci();
    static auto* c = new EhciController();
    zero_fill(f->g.ram.data(), f->g.ram.size());
    zero_fill(f->dma.data(), f->dma.size());
    f->cmd = f->sts = f->async = f->periodic = f->frindex = 0;
    f->iaa_rung = false;
    f->writes.clear();
    f->refusals.clear();
    f->notes.clear();
    f->strays.clear();
    f->bad_buffers.clear();
    f->executed.clear();
    f->periodic_qhs.clear();
    f->not_qh.clear();
    f->overlong.clear();
    f->looped.clear();
    f->hccparams = 0x80;
    *c = EhciController{};
    check(c->init(f, f->mem()), "the controller was not taken");
    Input in{data, size};
    for (u32 n = 0; in.n && n < 256; ++n) {
        step(in, *f, *c);
        check(f->strays.empty(), "the controller followed a pointer outside the monitor's shadow");
        check(f->bad_buffers.empty(), "the controller moved a buffer outside guest RAM");
        check(f->not_qh.empty(), "the controller was given an iTD, siTD or FSTN");
        check(f->looped.empty() && f->overlong.empty(), "the periodic shadow loops or runs on");
    }
    return 0;
}
