// ABAR routing for the AHCI mediator.
#include "drivers/ahci/ahci_hba.hpp"

namespace tv::ata::ahci {

void AhciHba::init(AhciEnv* env, BouncePool* pool) {
    env_ = env;
    pool_ = pool;
    pi_ = env_->dev_read(kPi);
}

bool AhciHba::attach_port(u32 index, DmaMem dma, PrdEntry* prds) {
    if (index >= kMaxPorts || !(pi_ >> index & 1)) return false;
    ports_[index].init(env_, pool_, index, dma, prds);
    return true;
}

void AhciHba::poll_all() {
    for (u32 i = 0; i < kMaxPorts; ++i)
        if (ports_[i].ready()) ports_[i].poll();
}

bool AhciHba::quiet() const {
    for (u32 i = 0; i < kMaxPorts; ++i)
        if (ports_[i].ready() && !ports_[i].quiet()) return false;
    return true;
}

u32 AhciHba::read(u32 off) {
    if (off >= kPortBase && off < kPortBase + kMaxPorts * kPortStride) {
        u32 const p = (off - kPortBase) / kPortStride;
        if (ports_[p].ready()) return ports_[p].read((off - kPortBase) % kPortStride);
    }
    u32 const v = env_->dev_read(off);
    // The interrupt handler's first look: finish what is done (after the read, see AhciPort::read).
    if (off == kIs) poll_all();
    return off == kCap ? v & ~kCapFbss : v;
}

void AhciHba::write(u32 off, u32 value) {
    if (off >= kPortBase && off < kPortBase + kMaxPorts * kPortStride) {
        u32 const p = (off - kPortBase) / kPortStride;
        if (ports_[p].ready()) return ports_[p].write((off - kPortBase) % kPortStride, value);
    }
    env_->dev_write(off, value);
    if (off == kGhc && (value & kGhcHr)) {  // HBA reset: every command is gone
        for (u32 i = 0; i < kMaxPorts; ++i)
            if (ports_[i].ready()) ports_[i].abandon_all();
    }
}

namespace {
// Registers where the bytes a narrow write leaves out must keep their value; everywhere else
// (write-1-to-clear and write-1-to-set registers) they must be zero.
bool merge_keeps(u32 off) {
    if (off < kPortBase) return off == kGhc;
    u32 const r = (off - kPortBase) % kPortStride;
    return r == kPxClb || r == kPxClbu || r == kPxFb || r == kPxFbu || r == kPxIe || r == kPxCmd || r == 0x2C;
}
// An access that is not inside one dword (a 4-byte access at ABAR+0x101, say) would reach
// the device at that offset and change a register the port shadows (PxCLB, PxFB): it is
// taken byte by byte instead, each byte going to the register that holds it.
bool crosses_dword(u32 off, u8 size) { return size != 8 && (off & 3) + size > 4; }
}  // namespace

u64 AhciHba::read_sized(u32 off, u8 size) {
    counts_.count(off, false);
    if (crosses_dword(off, size) || (size == 8 && (off & 3))) {
        u64 v = 0;
        for (u8 i = 0; i < size; ++i) v |= read_sized(off + i, 1) << (8 * i);
        return v;
    }
    if (size == 8) return read(off) | u64{read(off + 4)} << 32;
    u32 const v = read(off & ~3u);
    u32 const shift = (off & 3) * 8;
    u64 const mask = size >= 4 ? 0xFFFFFFFFull : (1ull << (size * 8)) - 1;
    return (v >> shift) & mask;
}

void AhciHba::write_sized(u32 off, u8 size, u64 value) {
    counts_.count(off, true);
    if (crosses_dword(off, size) || (size == 8 && (off & 3))) {
        for (u8 i = 0; i < size; ++i) write_sized(off + i, 1, value >> (8 * i));
        return;
    }
    if (size == 8) {
        write(off, static_cast<u32>(value));
        write(off + 4, static_cast<u32>(value >> 32));
        return;
    }
    if (size == 4) return write(off, static_cast<u32>(value));
    u32 const base = off & ~3u, shift = (off & 3) * 8;
    u32 const mask = ((1u << (size * 8)) - 1) << shift;
    u32 const old = merge_keeps(base) ? read(base) : 0;
    write(base, (old & ~mask) | (static_cast<u32>(value << shift) & mask));
}

}  // namespace tv::ata::ahci
