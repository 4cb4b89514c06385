// libFuzzer target: the mass-storage path on EHCI (drivers/usb/ehci_storage.*, usb_storage.*)
// against a hostile guest. Each input starts from an enrolled stick enumerated and its capacity
// read (test_ehci_stick.hpp), under the policy the input's first byte picks; then a script of
// CBWs (any opcode, LBA, length, direction, size), data qTDs on either bulk pipe (any buffer in
// the guest's data area, any size), CSWs, SET_ADDRESS, descriptor reads, guest rewrites of
// words, controller passes stopped after any number of qTDs, syncs. Checks: nothing out of
// bounds (ASan/UBSan); the controller only follows pointers into the shadow and only moves
// guest RAM or the mass-storage path's pages; the guest's plaintext (a marker that fills its
// data area) never reaches the stick's medium.
#include <string.h>

#include <algorithm>
#include <memory>

#include "storage/key_table.hpp"
#include "tests/unit/fuzz_input.hpp"
#include "tests/unit/test_ehci_stick.hpp"

using namespace tv;
using namespace tv::usb;
using namespace tv::usb::test;

namespace {

constexpr char kMarker[] = "TVPLAIN!";
constexpr u32 kDataEnd = 0x7F000;

enum class Op : u8 { Cbw, Data, Csw, Step, Word, SetAddress, Descriptors, kCount };

void control(StickBus& b, u64 setup, u32 len) {
    (void)b.f.g.write(Gpa{kSetupBuf}, &setup, 8);
    if (len) b.queue(b.ctl, {{QtdPid::Setup, kSetupBuf, 8}, {QtdPid::In, kDescBuf, len}, {QtdPid::Out, 0, 0}});
    else b.queue(b.ctl, {{QtdPid::Setup, kSetupBuf, 8}, {QtdPid::In, 0, 0}});
    b.step();
}

void cbw(StickBus& b, u32 tag, u8 const* cdb, u8 cdb_len, u32 length, bool in, u32 qtd_len) {
    Cbw w{kCbwSignature, tag, length, static_cast<u8>(in ? 0x80 : 0), 0, cdb_len, {}};
    memcpy(w.cb, cdb, cdb_len);
    (void)b.f.g.write(Gpa{kCbwBuf}, &w, sizeof w);
    b.queue(b.out, {{QtdPid::Out, kCbwBuf, qtd_len}});
}

void prologue(StickBus& b) {
    control(b, 0x0012000001000680, 18);
    control(b, 0x0020000002000680, 32);
    control(b, 0x00FF040903030680, 255);
    control(b, 0x0000000000010900, 0);
    u8 const cap[10] = {0x25};
    cbw(b, 1, cap, 10, 8, true, kCbwBytes);
    b.step();
    b.queue(b.in, {{QtdPid::In, kData, 8}});
    b.step();
    b.queue(b.in, {{QtdPid::In, kCswBuf, kCswBytes}});
    b.step();
}

void step(Input& in, StickBus& b) {
    auto const o = static_cast<Op>(in.take<u8>() % static_cast<u8>(Op::kCount));
    switch (o) {
        case Op::Cbw: {
            static constexpr u8 kOps[] = {0x28, 0x2A, 0x41, 0x03, 0x00, 0x25, 0x88, 0x8A, 0xA8, 0xAA, 0x93, 0x12};
            u8 cdb[16]{};
            u8 const pick = in.take<u8>();
            cdb[0] = pick < 200 ? kOps[pick % sizeof kOps] : in.take<u8>();
            u32 const lba = in.take<u8>(), blocks = in.take<u8>() % 64;
            cdb[5] = static_cast<u8>(lba);
            cdb[8] = static_cast<u8>(blocks);
            cdb[9] = static_cast<u8>(blocks);
            cdb[13] = static_cast<u8>(blocks);
            u8 const shape = in.take<u8>();
            u32 const length = shape & 1 ? in.take<u16>() : blocks * 512;
            u8 const cdb_len = shape & 8 ? static_cast<u8>(1 + in.take<u8>() % 16) : 16;
            u32 const qtd_len = shape & 4 ? in.take<u8>() : kCbwBytes;
            cbw(b, in.take<u8>(), cdb, cdb_len, length, (shape & 2) != 0, qtd_len);
            break;
        }
        case Op::Data: {
            u8 const shape = in.take<u8>();
            u32 const n = 1 + shape % 4;
            std::vector<Td> tds;
            for (u32 i = 0; i < n; ++i) {
                u32 const at = kData + (u32{in.take<u16>()} * 16) % (kDataEnd - kData - 0x5000);
                tds.push_back({shape & 0x10 ? QtdPid::In : QtdPid::Out, at, in.take<u16>() % 0x5001u});
            }
            b.queue(shape & 0x10 ? b.in : b.out, tds);
            break;
        }
        case Op::Csw: b.queue(b.in, {{QtdPid::In, kCswBuf, in.take<u8>() & 1 ? kCswBytes : in.take<u16>() % 0x600u}}); break;
        case Op::Step: {
            u8 const budget = in.take<u8>();
            b.c->tick();
            b.f.budget = budget & 0x80 ? ~0u : budget;
            b.f.run();
            b.f.budget = ~0u;
            (void)b.c->read(kSts, 4);
            break;
        }
        case Op::Word: {  // a rewrite anywhere in the qTDs, the CBW or the guest's data
            u32 const at = (0x2000 + u32{in.take<u16>()} * 4) % 0x12000;
            u32 const v = in.take<u32>();
            memcpy(b.f.g.ram.data() + at, &v, 4);
            break;
        }
        case Op::SetAddress: {
            auto* q = reinterpret_cast<Qh*>(b.f.g.ram.data() + kCtlQh);
            q->epchar &= ~0x7Fu;
            control(b, 0x0000000000020500, 0);
            q->epchar |= kAddr;
            break;
        }
        case Op::Descriptors:
            control(b, 0x0012000001000680, 18);
            control(b, 0x00FF040903030680, 255);
            break;
        case Op::kCount: break;
    }
}

bool plaintext_on_medium(Stick const& s) {
    return std::search(s.disk.begin(), s.disk.end(), kMarker, kMarker + 8) != s.disk.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static storage::KeyEntry key = [] {
        storage::KeyEntry e{};
        strcpy(e.serial, "TVEHCI1");
        e.bus = storage::Bus::Usb;
        e.data_unit = 512;
        for (u32 i = 0; i < 64; ++i) e.master_key[i] = static_cast<u8>(0x3C + i * 5);
        return e;
    }();
    static bool keyed = storage::set_keys(&key, 1, true) == Status::Ok;
    check(keyed, "the key table refused the stick's key");
    Input in{data, size};
    auto b = std::make_unique<StickBus>();
    static constexpr UsbRule kRules[] = {UsbRule::Allow, UsbRule::Encrypt, UsbRule::ReadOnly, UsbRule::Deny};
    b->f.rule = kRules[in.take<u8>() % 4];
    check(b->start(), "the controller was not taken");
    for (u32 at = kData; at + 8 <= kDataEnd; at += 8) memcpy(b->f.g.ram.data() + at, kMarker, 8);
    prologue(*b);
    for (u32 n = 0; in.n && n < 64; ++n) {
        step(in, *b);
        check(b->f.strays.empty(), "the controller followed a pointer outside the monitor's shadow");
        check(b->f.bad_buffers.empty(), "the controller moved a buffer outside guest RAM and the storage pages");
        check(!plaintext_on_medium(b->stick), "the guest's plaintext reached the stick's medium");
    }
    return 0;
}
