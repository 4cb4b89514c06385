// libFuzzer: a hostile guest against the e1000 mediator. The input is a script of register
// accesses, descriptor and buffer writes in guest RAM, device steps (transmit, receive) and
// monitor sends. The fake device dereferences every address it is given that is not guest
// RAM, so a descriptor that escaped the mediator's checks shows up as an ASan report; the
// explicit checks below catch addresses inside the modelled monitor region.
//
// An input that starts with 0xA5 fuzzes the copy-out TSO cutter (drivers/nic/tx_tso) alone:
// a TCP/IPv4 packet and a context, both mostly the input's, and every frame made is checked
// (within a frame's size, both checksums valid, the payload handed over exactly once).
#include <stdlib.h>

#include "drivers/nic/tx_tso.hpp"
#include "tests/unit/fuzz_input.hpp"
#include "tests/unit/test_e1000_fake.hpp"

using namespace tv;
using namespace tv::nic;
using namespace tv::nic::test;

namespace {

constexpr u32 kRegs[] = {off(Reg::Ctrl),  off(Reg::Icr),   off(Reg::Rctl),  off(Reg::Tctl),  off(Reg::Rdbal),
                         off(Reg::Rdbah), off(Reg::Rdlen), off(Reg::Rdh),   off(Reg::Rdt),   off(Reg::Tdbal),
                         off(Reg::Tdbah), off(Reg::Tdlen), off(Reg::Tdh),   off(Reg::Tdt),   ral(kMonitorRar),
                         rah(kMonitorRar), 0x0420,         0x0118,          off(Reg::Ims)};

void check_device_addresses(FakeNic& nic, MonitorMem& mm) {
    DmaMem const d = mm.dma();
    for (u64 a : nic.buffers) {
        bool const guest = a >= kGuestBase && a < kGuestBase + kGuestSize;
        bool const mon = a >= d.dev.raw && a < d.dev.raw + E1000Mediator::kDmaBytes;
        if (!guest && !mon) abort();
    }
    nic.buffers.clear();
}

// One fake device and monitor memory for every input, brought back to the state their
// constructors give: 5 MiB of fresh pages per input cost 30 ms in page faults (33 inputs/s).
// Keep this in step with FakeNic's members.
FakeNic& fresh_nic() {
    static FakeNic* nic = new FakeNic;
    // Not std::fill: libFuzzer's instrumentation would trace every element's compare.
    zero_fill(nic->ram.data(), nic->ram.size());
    memset(nic->regs.data(), 0, nic->regs.size() * sizeof nic->regs[0]);
    nic->regs[off(Reg::Status) / 4] = kStatusLu;
    nic->reads.clear();
    nic->writes.clear();
    nic->sent.clear();
    nic->packet.clear();
    nic->buffers.clear();
    nic->refusals.clear();
    nic->resets = 0;
    nic->auto_tx = false;
    nic->rar_count = kRarCount;
    return *nic;
}

MonitorMem& fresh_monitor_mem() {
    static MonitorMem* mm = new MonitorMem;
    zero_fill(mm->raw.data(), mm->raw.size());
    return *mm;
}

// A copy-out policy (the VPN's shape): every guest frame to the wire, a copy back to the guest.
struct CopyOut final : sw::ForwardingPolicy {
    bool copy_out() const override { return true; }
    sw::Dest from_wire(sw::Frame) override { return sw::Dest::Guest | sw::Dest::Monitor; }
    sw::Dest from_guest(sw::Frame f) override { return f.len & 1 ? sw::Dest::Wire | sw::Dest::Guest : sw::Dest::Wire; }
    sw::Dest from_monitor(sw::Frame) override { return sw::Dest::Wire | sw::Dest::Guest; }
};

u32 sum16(u8 const* p, u32 len, u32 sum) {
    for (u32 i = 0; i < len; i += 2) sum += u32{p[i]} << 8 | (i + 1 < len ? p[i + 1] : 0u);
    while (sum >> 16) sum = (sum & 0xFFFF) + (sum >> 16);
    return sum;
}

struct TsoCheck {
    TsoContext c;
    u32 payload_seen{0}, frames{0};
    static void frame(void* ctx, u8 const* f, u32 len) {
        auto& t = *static_cast<TsoCheck*>(ctx);
        if (len > E1000GuestRings::kCopyBytes || len <= t.c.hdrlen) abort();
        u8 const* ip = f + t.c.ipcss;
        if (sum16(ip, (ip[0] & 0xFu) * 4, 0) != 0xFFFF) abort();
        u32 const tcp_len = len - t.c.tucss;
        u32 const pseudo = sum16(ip + 12, 8, 0) + 6 + tcp_len;
        if (sum16(f + t.c.tucss, tcp_len, pseudo) != 0xFFFF) abort();
        t.payload_seen += len - t.c.hdrlen;
        ++t.frames;
    }
};

int fuzz_tso(Input in) {
    static u8 packet[E1000GuestRings::kTsoBytes];
    static u8 scratch[E1000GuestRings::kCopyBytes];
    TsoCheck t{};
    t.c = TsoContext{(in.take<u8>() & 7) != 0, true, true, 0, in.take<u16>() % 1600u, 0, 14, 0};
    u8 const ihl = static_cast<u8>(5 + in.take<u8>() % 3);
    u8 const doff = static_cast<u8>(5 + in.take<u8>() % 4);
    t.c.tucss = 14 + ihl * 4u;
    t.c.hdrlen = t.c.tucss + doff * 4u;
    u32 const len = t.c.hdrlen + in.take<u32>() % (kTsoMaxPayload + 64);
    t.c.paylen = (in.take<u8>() & 1) ? len - t.c.hdrlen : in.take<u32>() & 0xFFFFF;
    for (u32 i = 0; i < len; ++i) packet[i] = in.n ? in.take<u8>() : static_cast<u8>(i);
    packet[14] = static_cast<u8>(0x40 | ihl);
    packet[23] = 6;
    packet[t.c.tucss + 12] = static_cast<u8>(doff << 4);
    if (in.take<u8>() == 1) t.c.hdrlen = in.take<u8>();  // and sometimes a context that lies
    u32 n = 0;
    TsoVerdict const v = tso_segment(packet, len, t.c, scratch, sizeof scratch, TsoCheck::frame, &t, &n);
    if (v != TsoVerdict::Ok && t.frames != 0) abort();  // refused whole, or not at all
    if (v == TsoVerdict::Ok && (n != t.frames || t.payload_seen != len - t.c.hdrlen)) abort();
    return 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    if (size && data[0] == 0xA5) return fuzz_tso(Input{data + 1, size - 1});
    FakeNic& nic = fresh_nic();
    if (size % 3 == 0) nic.rar_count = 4;  // Bochs 2.7's e1000: unicast-promiscuous, guest filter in software
    MonitorMem& mm = fresh_monitor_mem();
    E1000Mediator med;
    med.init(&nic, mm.dma(), MacAddr{{2, 0, 0, 0, 0, 1}});
    CopyOut copy_out;
    Input in{data, size};
    while (in.n) {
        u8 const op = in.take<u8>();
        switch (op % 8) {
            case 0: {  // register write, mostly sane ring addresses; 1 in 8 anywhere in the BAR
                u8 const pick = in.take<u8>();
                u32 const reg = (pick & 0xE0) == 0xE0 ? in.take<u32>() & 0x1FFFCu
                                                      : kRegs[pick % (sizeof kRegs / sizeof kRegs[0])];
                u32 v = in.take<u32>();
                if ((reg == off(Reg::Rdbal) || reg == off(Reg::Tdbal)) && (op & 0x80)) v = kGuestBase + (v & 0xFFFF0u);
                if (reg == off(Reg::Rdlen) || reg == off(Reg::Tdlen)) v &= (op & 0x40) ? 0xFFFu : 0xFFFFFu;
                if (reg == off(Reg::Ctrl)) v &= (op & 0x20) ? ~0u : ~(1u << 26);
                med.write_sized(reg + (in.take<u8>() & 3), static_cast<u8>(1u << (op >> 5 & 3)), v);
                break;
            }
            case 1: (void)med.read_sized(kRegs[in.take<u8>() % (sizeof kRegs / sizeof kRegs[0])], 4); break;
            case 2: {  // a descriptor somewhere in the first 64 KiB of guest RAM
                u32 const at = in.take<u16>() & ~15u;
                u8 raw[16];
                for (u8& b : raw) b = in.take<u8>();
                if (op & 0x80) {  // point it into guest RAM, the monitor or past RAM
                    u64 a = (op & 0x40) ? kMonitorBase + (in.take<u16>()) : kGuestBase + (in.take<u32>() % kGuestSize);
                    memcpy(raw, &a, 8);
                }
                memcpy(nic.g(kGuestBase + at), raw, 16);
                break;
            }
            case 3:
                nic.transmit();
                break;
            case 4: {
                u16 const len = static_cast<u16>(14 + in.take<u16>() % 1501);
                std::vector<u8> f(len, in.take<u8>());
                u8 const kind = in.take<u8>() % 3;
                if (kind == 0) memcpy(f.data(), "\x02\x00\x00\x00\x00\x01", 6);
                if (kind == 1) memset(f.data(), 0xFF, 6);
                (void)nic.receive(f);
                break;
            }
            case 5: {
                std::vector<u8> f(14 + in.take<u16>() % 1600, 0x33);
                (void)med.port().send(f.data(), f.size());
                break;
            }
            case 6:
                med.port().poll();
                break;
            case 7:
                med.set_policy(op & 0x80 ? &copy_out : nullptr);
                break;
        }
        if (nic.ram.size() != kGuestSize) abort();
        check_device_addresses(nic, mm);
    }
    return 0;
}
