#include "core/device/guest_linear.hpp"

#include <string.h>

namespace tv {

namespace {
constexpr u64 kRflagsAc = 1ull << 18;
}

bool GuestTableReader::read_entry(Gpa gpa, u8 size, u64* value) {
    *value = 0;
    return mem_.read(gpa, value, size);
}

bool GuestTableReader::set_entry_bits(Gpa gpa, u8 size, u64 bits) {
    u8* p = mem_.ptr(gpa, size);
    if (!p) return false;
    // The guest's other CPUs may update the same entry: an atomic OR, as the CPU does.
    if (size == 8) __atomic_fetch_or(reinterpret_cast<u64*>(p), bits, __ATOMIC_SEQ_CST);
    else __atomic_fetch_or(reinterpret_cast<u32*>(p), static_cast<u32>(bits), __ATOMIC_SEQ_CST);
    return true;
}

GuestPagingState guest_paging_state(Vcpu const& v, GuestMemory const& mem) {
    return GuestPagingState{v.cr0(), v.cr3(), v.cr4(), v.efer(), v.cpl(), (v.rflags() & kRflagsAc) != 0,
                            mem.maxphyaddr()};
}

WalkStatus GuestLinear::translate(u64 linear, GuestAccess access, Translation* out) {
    GuestTableReader reader{mem_};
    return guest_translate(state_, linear, access, reader, out);
}

bool GuestLinear::copy(u64 lin, u8* buf, u32 n, bool write, bool fetch) {
    while (n) {
        u32 chunk = static_cast<u32>(kPageSize - (lin & (kPageSize - 1)));
        if (chunk > n) chunk = n;
        Translation t;
        if (translate(lin, GuestAccess{write, fetch}, &t) != WalkStatus::Ok) return false;
        u8* p = mem_.ptr(t.gpa, chunk);
        if (!p) return false;
        if (buf && write) memcpy(p, buf, chunk);
        else if (buf) memcpy(buf, p, chunk);
        lin += chunk;
        if (buf) buf += chunk;
        n -= chunk;
    }
    return true;
}

}  // namespace tv
