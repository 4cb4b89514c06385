// libFuzzer target: the IDE mediator's PRD shadow (drivers/ide/ide_shadow) against a hostile
// guest's table. The input is the table's address, the byte count the ATA command moves, and
// the contents of guest RAM around the table. Checks: nothing out of bounds (ASan/UBSan); the
// mediator reaches only guest RAM, never the modelled monitor region inside it; an accepted
// shadow adds up to the command's bytes (at most them, for ATAPI) with every region inside guest RAM; the copies move
// exactly total() bytes; the device's direct table has no entry over 64 KiB or across a
// 64 KiB boundary and describes the same bytes.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/ide/ide_shadow.hpp"

using namespace tv;
using namespace tv::ata;

namespace {

constexpr u64 kRam = 256u << 10;                              // guest RAM: [0, 256 KiB)
constexpr u64 kHiddenBase = 0x20000, kHiddenEnd = 0x28000;  // the monitor's, inside it

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

bool in_ram(u64 gpa, u64 bytes) {
    return bytes <= kRam && gpa <= kRam - bytes && (gpa + bytes <= kHiddenBase || gpa >= kHiddenEnd);
}

class Env final : public IdeEnv {
  public:
    explicit Env(u8* ram) : ram_(ram) {}
    u32 port_in(u16, u8) override { abort(); }  // the shadow never touches the device
    void port_out(u16, u8, u32) override { abort(); }
    void port_in_words(u16, u16*, u32) override { abort(); }
    void port_out_words(u16, u16 const*, u32) override { abort(); }
    bool guest_ram(Gpa gpa, u64 bytes) override { return in_ram(gpa.raw, bytes); }
    u8* guest_ptr(Gpa gpa) override {
        check(gpa.raw < kRam && (gpa.raw < kHiddenBase || gpa.raw >= kHiddenEnd), "guest_ptr only for guest RAM");
        return ram_ + gpa.raw;
    }
    void log(char const*, ...) override {}

  private:
    u8* ram_;
};

struct Input {
    u8 const* p;
    size_t n;
    u32 u32_or(u32 dflt) {
        if (n < 4) return dflt;
        u32 v;
        memcpy(&v, p, 4);
        p += 4;
        n -= 4;
        return v;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    Input in{data, size};
    // Addresses near the table and the hidden region's edges are where the bugs would be:
    // the table address is taken modulo a bit more than RAM, so it also lands past the end.
    u64 const table = in.u32_or(0x1000) % (kRam + 0x2000);
    u32 const word = in.u32_or(0x1000);
    u64 const expected = (word & 0x7FFFFFFF) % (0x20000 + 1);
    bool const exact = !(word >> 31);  // ATAPI: expected is only the upper bound
    static u8 ram[kRam];
    memset(ram, 0, sizeof ram);
    // The rest of the input is the table (and what follows it) where the guest put it.
    if (table < kRam) memcpy(ram + table, in.p, in.n < kRam - table ? in.n : kRam - table);
    Env env{ram};
    static PrdShadow shadow;
    shadow = PrdShadow{};
    if (shadow.load(env, Gpa{table}, expected, exact) == ShadowError::Ok) {
        check(exact ? shadow.total() == expected : shadow.total() <= expected, "the shadow moves the command's bytes");
        check(shadow.count() <= PrdShadow::kMaxRegions, "at most kMaxRegions regions");
        u64 sum = 0;
        for (u32 i = 0; i < shadow.count(); ++i) {
            check(in_ram(shadow.at(i).gpa.raw, shadow.at(i).bytes), "a region is guest RAM");
            sum += shadow.at(i).bytes;
        }
        check(sum == shadow.total(), "the regions add up to total()");
        u8* buf = static_cast<u8*>(malloc(shadow.total() ? shadow.total() : 1));
        shadow.copy_from_guest(env, buf);
        shadow.copy_to_guest(env, buf);
        shadow.copy_to_guest_prefix(env, buf, word % 64);  // a REQUEST SENSE's 18 bytes, or any prefix
        free(buf);
        static PrdEntry direct[kMaxPrdEntries * 2];
        u32 const k = build_direct_prd(direct, kMaxPrdEntries * 2, shadow);
        u64 dsum = 0;
        for (u32 i = 0; i < k; ++i) {
            u64 const bytes = direct[i].bytes ? direct[i].bytes : kPrdMaxBytes;
            check((direct[i].base & 0xFFFF) + bytes <= kPrdMaxBytes, "no direct entry crosses 64 KiB");
            check(in_ram(direct[i].base, bytes), "a direct entry is guest RAM");
            dsum += bytes;
        }
        if (k) check(dsum == shadow.total() && (direct[k - 1].flags & kPrdEot), "the direct table ends and adds up");
    }
    return 0;
}
