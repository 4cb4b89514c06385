#include "drivers/aoe_disk/aoe_disk_int13.hpp"

#include <string.h>

namespace tv::ata {

namespace {

constexpr u32 kHeads = 255, kSpt = 63, kMaxCyl = 1024;
constexpr u8 kOk = 0x00, kBadRequest = 0x01, kNotFound = 0x04, kFailure = 0x20, kTimeout = 0x80;

u8 ah(BiosDiskRegs const& r) { return static_cast<u8>(r.eax >> 8); }
u8 al(BiosDiskRegs const& r) { return static_cast<u8>(r.eax); }
void set_ah(BiosDiskRegs& r, u8 v) { r.eax = (r.eax & ~0xFF00u) | static_cast<u32>(v) << 8; }

u32 cylinders(u64 sectors) {
    u64 const c = sectors / (kHeads * kSpt);
    return static_cast<u32>(c == 0 ? 1 : c > kMaxCyl ? kMaxCyl : c);
}

u8 status_of(DiskResult const& d) {
    switch (d.fault) {
        case DiskFault::None: return kOk;
        case DiskFault::TimedOut: return kTimeout;
        case DiskFault::Range: return kNotFound;
        case DiskFault::DeviceError: return (d.ata_error & 0x10) ? kNotFound : kFailure;
        case DiskFault::TargetError:
        case DiskFault::Refused: return kFailure;
    }
    return kFailure;
}

template <typename T>
void put(u8* p, T v) {
    memcpy(p, &v, sizeof v);
}

}  // namespace

void Int13Disk::init(IdeEnv* mem, BlockDevice* dev, u8 drive, u8 drive_count) {
    mem_ = mem;
    dev_ = dev;
    drive_ = drive;
    drive_count_ = drive_count;
}

void Int13Disk::finish(BiosDiskRegs& r, u8 status) {
    last_ = status;
    set_ah(r, status);
    r.carry = status != kOk;
}

// One disk transfer between the disk and guest memory at addr, through buf_.
u8 Int13Disk::transfer(bool write, Lba lba, u32 count, Gpa addr) {
    if (count == 0) return kOk;
    if (count > kMaxSectors) return kBadRequest;
    u64 const bytes = static_cast<u64>(count) * 512;
    if (!mem_->guest_ram(addr, bytes)) {
        if (logs_++ < 16) mem_->log("aoe-disk: INT 13h buffer %#llx (+%llu) is not guest RAM: refused",
                                    static_cast<unsigned long long>(addr.raw), static_cast<unsigned long long>(bytes));
        return kBadRequest;
    }
    u64 const total = dev_->sectors();
    if (lba.raw >= total || count > total - lba.raw) return kNotFound;
    DiskResult d{};
    if (write) {
        memcpy(buf_, mem_->guest_ptr(addr), bytes);
        d = dev_->write(lba, count, buf_);
    } else {
        d = dev_->read(lba, count, buf_);
        if (d.ok()) memcpy(mem_->guest_ptr(addr), buf_, bytes);
    }
    if (!d.ok())
        mem_->log("aoe-disk: INT 13h %s of %u sectors at %llu failed: %s", write ? "write" : "read", count,
                  static_cast<unsigned long long>(lba.raw), disk_fault_name(d.fault));
    return status_of(d);
}

void Int13Disk::chs_rw(BiosDiskRegs& r, bool write) {
    u32 const count = al(r);
    u32 const cyl = ((r.ecx >> 8) & 0xFF) | ((r.ecx & 0xC0) << 2);
    u32 const sector = r.ecx & 0x3F;
    u32 const head = (r.edx >> 8) & 0xFF;
    if (sector == 0 || sector > kSpt || head >= kHeads || count == 0) return finish(r, kBadRequest);
    u64 const lba = (static_cast<u64>(cyl) * kHeads + head) * kSpt + sector - 1;
    u8 const st = transfer(write, Lba{lba}, count, Gpa{r.es_base + (r.ebx & 0xFFFF)});
    r.eax = (r.eax & ~0xFFu) | (st == kOk ? count : 0);
    finish(r, st);
}

void Int13Disk::ext_rw(BiosDiskRegs& r, bool write) {
    u64 const dap_at = r.ds_base + (r.esi & 0xFFFF);
    if (!mem_->guest_ram(Gpa{dap_at}, 16)) return finish(r, kBadRequest);
    u8* dap = mem_->guest_ptr(Gpa{dap_at});
    u8 const size = dap[0];
    u16 count, off, seg;
    u64 lba;
    memcpy(&count, dap + 2, 2);
    memcpy(&off, dap + 4, 2);
    memcpy(&seg, dap + 6, 2);
    memcpy(&lba, dap + 8, 8);
    if (size < 16) return finish(r, kBadRequest);
    u64 addr = static_cast<u64>(seg) * 16 + off;
    if (seg == 0xFFFF && off == 0xFFFF) {  // EDD 3.0: a flat address follows
        if (size < 24 || !mem_->guest_ram(Gpa{dap_at}, 24)) return finish(r, kBadRequest);
        memcpy(&addr, dap + 16, 8);
    }
    u8 const st = transfer(write, Lba{lba}, count, Gpa{addr});
    if (st != kOk) put<u16>(dap + 2, 0);  // nothing was transferred
    finish(r, st);
}

void Int13Disk::params(BiosDiskRegs& r) {
    u32 const maxc = cylinders(dev_->sectors()) - 1;
    r.ecx = (r.ecx & 0xFFFF0000u) | (maxc & 0xFF) << 8 | ((maxc >> 2) & 0xC0) | kSpt;
    r.edx = (r.edx & 0xFFFF0000u) | (kHeads - 1) << 8 | drive_count_;
    r.ebx &= 0xFFFF0000u;  // BL: drive type, 0 for fixed disks
    r.eax &= 0xFFFF0000u;
    finish(r, kOk);
}

void Int13Disk::ext_params(BiosDiskRegs& r) {
    u64 const at = r.ds_base + (r.esi & 0xFFFF);
    if (!mem_->guest_ram(Gpa{at}, 0x1A)) return finish(r, kBadRequest);
    u8* p = mem_->guest_ptr(Gpa{at});
    u16 room;
    memcpy(&room, p, 2);
    if (room < 0x1A) return finish(r, kBadRequest);
    u64 const sectors = dev_->sectors();
    put<u16>(p + 0, 0x1A);
    put<u16>(p + 2, 0x0002);  // the CHS values are valid
    put<u32>(p + 4, cylinders(sectors));
    put<u32>(p + 8, kHeads);
    put<u32>(p + 12, kSpt);
    put<u64>(p + 16, sectors);
    put<u16>(p + 24, 512);
    finish(r, kOk);
}

void Int13Disk::call(BiosDiskRegs& r) {
    ++calls_;
    if ((r.edx & 0xFF) != drive_) return finish(r, kBadRequest);
    switch (ah(r)) {
        case 0x00: case 0x0D: return finish(r, kOk);
        case 0x01: {
            u8 const last = last_;
            r.eax = (r.eax & ~0xFFu) | last;
            set_ah(r, last);
            r.carry = last != kOk;
            last_ = kOk;
            return;
        }
        case 0x02: return chs_rw(r, false);
        case 0x03: return chs_rw(r, true);
        case 0x04: case 0x0C: case 0x10: case 0x11: case 0x44: case 0x47: return finish(r, kOk);
        case 0x08: return params(r);
        case 0x15: {
            u64 const s = dev_->sectors();
            u32 const n = s > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<u32>(s);
            r.ecx = (r.ecx & 0xFFFF0000u) | (n >> 16);
            r.edx = (r.edx & 0xFFFF0000u) | (n & 0xFFFF);
            finish(r, kOk);
            set_ah(r, 0x03);  // fixed disk
            return;
        }
        case 0x41:
            if ((r.ebx & 0xFFFF) != 0x55AA) return finish(r, kBadRequest);
            r.ebx = (r.ebx & 0xFFFF0000u) | 0xAA55;
            r.ecx = (r.ecx & 0xFFFF0000u) | 0x0001;  // fixed-disk access subset (42-44, 47, 48)
            finish(r, kOk);
            set_ah(r, 0x30);  // EDD 3.0
            return;
        case 0x42: return ext_rw(r, false);
        case 0x43: return ext_rw(r, true);
        case 0x48: return ext_params(r);
    }
    finish(r, kBadRequest);
}

}  // namespace tv::ata
