// libFuzzer target: the instruction emulator's walk of the guest's own page tables
// (core/guest_paging), which a hostile guest controls entirely: control registers, tables,
// the linear address and the kind of access. The guest's physical memory is 64 KiB of the
// input; a page in it stands for the monitor's hidden region, which the reader refuses, as
// the monitor's does. Checks: nothing out of bounds (ASan/UBSan); the walker reads and
// updates only aligned entries it was allowed to read; a translation keeps the offset inside
// its page, with a page size the architecture has; a refused structure is Unreadable, never
// a translation through it.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fuzz_input.hpp"
#include "core/guest_paging.hpp"

using namespace tv;

namespace {

constexpr u64 kMem = 64u << 10;
constexpr u64 kHiddenBase = 0x8000, kHiddenEnd = 0x9000;

class Memory final : public GuestMemoryReader {
  public:
    u8 bytes[kMem];
    bool refused_any{false};
    bool readable(u64 gpa, u8 size) const {
        return gpa < kMem && gpa + size <= kMem && (gpa + size <= kHiddenBase || gpa >= kHiddenEnd);
    }
    bool read_entry(Gpa gpa, u8 size, u64* value) override {
        check(size == 4 || size == 8, "entries are 4 or 8 bytes");
        check(gpa.raw % size == 0, "entries are aligned");
        if (!readable(gpa.raw, size)) {
            refused_any = true;
            return false;
        }
        *value = 0;
        memcpy(value, bytes + gpa.raw, size);
        return true;
    }
    bool set_entry_bits(Gpa gpa, u8 size, u64 bits) override {
        check(size == 4 || size == 8, "entries are 4 or 8 bytes");
        check(gpa.raw % size == 0, "entries are aligned");
        check((bits & ~u64{0x60}) == 0, "only the accessed and dirty bits are set");
        if (!readable(gpa.raw, size)) return false;
        u64 v = 0;
        memcpy(&v, bytes + gpa.raw, size);
        v |= bits;
        memcpy(bytes + gpa.raw, &v, size);
        return true;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(u8 const* data, size_t size) {
    static Memory* mem = new Memory;
    Input in{data, size};
    u8 const mode = in.take<u8>();
    GuestPagingState s{};
    // The usual modes most of the time (paging off, 32-bit, PAE, 4- and 5-level), any bits
    // at all otherwise.
    static constexpr u64 kCr0[] = {0x11, 0x80000011, 0x80000011, 0x80010011, 0x80010011};
    static constexpr u64 kCr4[] = {0, 0x10, 0x20, 0x20, 0x1020};
    static constexpr u64 kEfer[] = {0, 0, 0x800, 0xD00, 0xD00};
    if (mode & 0x80) {
        s.cr0 = in.take<u64>();
        s.cr4 = in.take<u64>();
        s.efer = in.take<u64>();
    } else {
        s.cr0 = kCr0[mode % 5];
        s.cr4 = kCr4[mode % 5] | ((mode & 0x40) ? u64{0x300000} : 0);  // SMEP/SMAP
        s.efer = kEfer[mode % 5];
    }
    s.cr3 = (mode & 0x20) ? in.take<u64>() : in.take<u16>() & 0xF000u;
    s.cpl = in.take<u8>() & 3;
    s.rflags_ac = (mode & 0x10) != 0;
    s.maxphyaddr = static_cast<u8>(in.take<u8>() % 53);
    u64 const linear = (mode & 0x08) ? in.take<u64>() : in.take<u32>();
    u8 const kind = in.take<u8>();
    GuestAccess const access{(kind & 1) != 0, (kind & 2) != 0};
    memset(mem->bytes, 0, sizeof mem->bytes);
    memcpy(mem->bytes, in.p, in.n < kMem ? in.n : kMem);
    mem->refused_any = false;
    Translation t;
    memset(&t, 0xA5, sizeof t);
    WalkStatus const st = guest_translate(s, linear, access, *mem, &t);
    if (st == WalkStatus::Ok) {
        check(!mem->refused_any, "no translation through a structure the reader refused");
        u64 const ps = t.page_size;
        check(ps == 4096 || ps == (2u << 20) || ps == (4u << 20) || ps == (1u << 30), "an architectural page size");
        check((t.gpa.raw & (ps - 1)) == (linear & (ps - 1)), "the offset inside the page is kept");
    }
    if (st == WalkStatus::PageFault) check((t.pf_error & ~u32{0x1F}) == 0, "a #PF error code of P, W, U, RSVD, I/D");
    return 0;
}
