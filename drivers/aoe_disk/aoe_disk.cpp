#include "drivers/aoe_disk/aoe_disk.hpp"

#include <string.h>

namespace tv::ata {

using namespace atareg;

namespace {

constexpr u8 kLogLimit = 64;  // lines of refusals per disk; the counters keep the rest

enum : u8 {
    kReadSectors = 0x20, kReadSectorsNr = 0x21, kReadSectorsExt = 0x24, kReadDmaExt = 0x25,
    kReadMultipleExt = 0x29, kWriteSectors = 0x30, kWriteSectorsNr = 0x31, kWriteSectorsExt = 0x34,
    kWriteDmaExt = 0x35, kWriteMultipleExt = 0x39, kVerify = 0x40, kVerifyNr = 0x41, kVerifyExt = 0x42,
    kDiagnostic = 0x90, kInitParams = 0x91, kReadMultiple = 0xC4, kWriteMultiple = 0xC5, kSetMultiple = 0xC6,
    kReadDma = 0xC8, kReadDmaNr = 0xC9, kWriteDma = 0xCA, kWriteDmaNr = 0xCB, kStandbyNow = 0xE0,
    kIdleNow = 0xE1, kStandby = 0xE2, kIdle = 0xE3, kCheckPower = 0xE5, kFlush = 0xE7, kFlushExt = 0xEA,
    kIdentify = 0xEC, kSetFeatures = 0xEF,
};

}  // namespace

void AoeDisk::init(AoeDiskEnv* env, BlockDevice* dev, IdentifyParams const& id) {
    env_ = env;
    dev_ = dev;
    idp_ = id;
    idp_.sectors = dev->sectors();
    reset_signature();
}

// ---- registers -----------------------------------------------------------------------------

void AoeDisk::access(IdeBlock block, u8 offset, bool in, u8 size, u32* value) {
    if (block == IdeBlock::Command && offset == ide::kData) {
        if (in) {
            u32 v = 0;
            for (u8 i = 0; i < size; ++i) v |= static_cast<u32>(data_byte_in()) << (8 * i);
            *value = v;
        } else {
            for (u8 i = 0; i < size; ++i) data_byte_out(static_cast<u8>(*value >> (8 * i)));
        }
        return;
    }
    // Wider accesses to byte registers reach the next registers, as on the bus.
    u32 v = 0;
    for (u8 i = 0; i < size; ++i) {
        u8 const off = static_cast<u8>(offset + i);
        u8 const b = static_cast<u8>(*value >> (8 * i));
        switch (block) {
            case IdeBlock::Command:
                if (off > 7) break;
                if (in) v |= static_cast<u32>(command_read(off)) << (8 * i);
                else command_write(off, b);
                break;
            case IdeBlock::Control:
                if (off != 0) break;
                if (in) v |= static_cast<u32>(slave() ? 0 : status_) << (8 * i);
                else control_write(b);
                break;
            case IdeBlock::BusMaster:
                if (off > 7) break;
                if (in) v |= static_cast<u32>(bm_read(off)) << (8 * i);
                else bm_write(off, b);
                break;
        }
    }
    if (in) *value = v;
}

u8 AoeDisk::command_read(u8 off) {
    if (off == ide::kDevice) return static_cast<u8>(device_ | 0xA0);
    if (slave()) return 0;  // no device 1: every register reads 0, so drivers see nobody
    bool const hob = (control_ & ide::kCtlHob) != 0;
    auto pick = [hob](Reg const& r) { return hob ? r.prev : r.cur; };
    switch (off) {
        case ide::kError: return error_;
        case ide::kCount: return pick(count_);
        case ide::kLbaLow: return pick(lbal_);
        case ide::kLbaMid: return pick(lbam_);
        case ide::kLbaHigh: return pick(lbah_);
        case ide::kStatus: return status_;
    }
    return 0;
}

void AoeDisk::command_write(u8 off, u8 v) {
    control_ = static_cast<u8>(control_ & ~ide::kCtlHob);  // a taskfile write clears HOB
    auto push = [v](Reg& r) { r = Reg{v, r.cur}; };
    switch (off) {
        case ide::kFeatures: push(features_); break;
        case ide::kCount: push(count_); break;
        case ide::kLbaLow: push(lbal_); break;
        case ide::kLbaMid: push(lbam_); break;
        case ide::kLbaHigh: push(lbah_); break;
        case ide::kDevice: device_ = v; break;
        case ide::kCommand:
            if (slave()) return;  // nobody there to take it
            if (status_ & kBsy) return;  // ignored while busy, as devices do
            ++counters_.commands;
            execute(v);
            break;
    }
}

void AoeDisk::control_write(u8 v) {
    bool const was_reset = (control_ & ide::kCtlSrst) != 0;
    control_ = v;
    if (v & ide::kCtlSrst) {
        status_ = kBsy;
        phase_ = Phase::Idle;
        return;
    }
    if (was_reset) reset_signature();
}

void AoeDisk::reset_signature() {
    // ATA device signature; error 01h: device 0 passed, device 1 absent.
    count_ = Reg{1, 0};
    lbal_ = Reg{1, 0};
    lbam_ = Reg{0, 0};
    lbah_ = Reg{0, 0};
    device_ = 0;
    error_ = 1;
    status_ = kDrdy | kDsc;
    phase_ = Phase::Idle;
}

u8 AoeDisk::bm_read(u8 off) const {
    switch (off) {
        case ide::kBmCommand: return bm_cmd_;
        case ide::kBmStatus: return bm_status_;
        case 4: case 5: case 6: case 7: return static_cast<u8>(bm_prd_ >> (8 * (off - 4)));
    }
    return 0;
}

void AoeDisk::bm_write(u8 off, u8 v) {
    if (off == ide::kBmCommand) {
        bool const starting = (v & ide::kBmStart) && !(bm_cmd_ & ide::kBmStart);
        bm_cmd_ = static_cast<u8>(v & (ide::kBmStart | ide::kBmToMemory));
        if (!(v & ide::kBmStart)) {
            bm_status_ = static_cast<u8>(bm_status_ & ~ide::kBmActive);
            return;
        }
        if (!starting) return;
        bm_status_ = static_cast<u8>(bm_status_ | ide::kBmActive);
        if (phase_ == Phase::DmaHeld) run_dma();
    } else if (off == ide::kBmStatus) {
        // Interrupt and error are write-one-to-clear; bits 5-6 (drive DMA capable) are plain.
        u8 s = static_cast<u8>(bm_status_ & ~(v & (ide::kBmIntr | ide::kBmError)));
        bm_status_ = static_cast<u8>((s & 0x07) | (v & 0x60));
    } else if (off >= 4) {
        u32 const shift = 8u * (off - 4u);
        bm_prd_ = (bm_prd_ & ~(0xFFu << shift)) | (static_cast<u32>(v) << shift);
        bm_prd_ &= ~3u;
    }
}

// ---- commands ------------------------------------------------------------------------------

void AoeDisk::irq() {
    if (control_ & ide::kCtlNien) return;
    ++counters_.irqs;
    env_->raise_irq();
}

void AoeDisk::complete_ok() {
    status_ = kDrdy | kDsc;
    error_ = 0;
    phase_ = Phase::Idle;
    irq();
}

void AoeDisk::fail(u8 op, u8 error, char const* why) {
    ++counters_.aborted;
    if (logs_ < kLogLimit) {
        ++logs_;
        env_->log("aoe-disk: command %#x refused: %s", op, why);
    }
    status_ = kDrdy | kErr;
    error_ = error;
    phase_ = Phase::Idle;
    irq();
}

void AoeDisk::fail_io(u8 op, DiskResult const& r) {
    ++counters_.failed;
    env_->log("aoe-disk: command %#x failed at sector %llu: %s (status %#x, error %#x)", op,
              static_cast<unsigned long long>(r.lba.raw), disk_fault_name(r.fault), r.ata_status, r.ata_error);
    bool const device = r.fault == DiskFault::DeviceError && (r.ata_error & (kErrIdnf | kErrUnc | kErrAbrt));
    status_ = kDrdy | kErr;
    error_ = device ? r.ata_error : kErrAbrt;
    set_lba_regs(r.lba);
    phase_ = Phase::Idle;
    irq();
}

void AoeDisk::set_lba_regs(Lba sector) {
    u64 const lba = sector.raw;
    lbal_ = Reg{static_cast<u8>(lba), static_cast<u8>(lba >> 24)};
    lbam_ = Reg{static_cast<u8>(lba >> 8), static_cast<u8>(lba >> 32)};
    lbah_ = Reg{static_cast<u8>(lba >> 16), static_cast<u8>(lba >> 40)};
    if (!(device_ & 0x0F) && lba < (1u << 28))
        device_ = static_cast<u8>((device_ & 0xF0) | ((lba >> 24) & 0x0F));
}

bool AoeDisk::taskfile_lba(bool ext, Lba* lba, u32* count) const {
    if (ext) {
        *lba = Lba{static_cast<u64>(lbal_.cur) | static_cast<u64>(lbam_.cur) << 8 |
                   static_cast<u64>(lbah_.cur) << 16 | static_cast<u64>(lbal_.prev) << 24 |
                   static_cast<u64>(lbam_.prev) << 32 | static_cast<u64>(lbah_.prev) << 40};
        u32 const n = static_cast<u32>(count_.cur) | static_cast<u32>(count_.prev) << 8;
        *count = n ? n : 65536;
    } else {
        *lba = Lba{static_cast<u64>(lbal_.cur) | static_cast<u64>(lbam_.cur) << 8 |
                   static_cast<u64>(lbah_.cur) << 16 | static_cast<u64>(device_ & 0x0F) << 24};
        *count = count_.cur ? count_.cur : 256;
    }
    return (device_ & ide::kDevLba) != 0;
}

void AoeDisk::execute(u8 op) {
    error_ = 0;
    switch (op) {
        case kIdentify: {
            u16 id[256];
            build_identify(idp_, id);
            memcpy(buf_, id, sizeof id);
            pio_op_ = op;
            pio_lba_ = Lba{0};
            pio_left_ = 1;
            pio_block_ = 1;
            pio_in_block_ = 1;
            buf_sectors_ = 1;
            buf_pos_ = 0;
            phase_ = Phase::PioIn;
            status_ = kDrdy | kDsc | kDrq;
            irq();
            return;
        }
        case kReadSectors: case kReadSectorsNr: return start_pio(op, false, false, 1);
        case kReadSectorsExt: return start_pio(op, false, true, 1);
        case kWriteSectors: case kWriteSectorsNr: return start_pio(op, true, false, 1);
        case kWriteSectorsExt: return start_pio(op, true, true, 1);
        case kReadMultiple: case kReadMultipleExt: case kWriteMultiple: case kWriteMultipleExt:
            if (!idp_.multiple) return fail(op, kErrAbrt, "READ/WRITE MULTIPLE before SET MULTIPLE");
            return start_pio(op, op == kWriteMultiple || op == kWriteMultipleExt,
                             op == kReadMultipleExt || op == kWriteMultipleExt, idp_.multiple);
        case kReadDma: case kReadDmaNr: return start_dma(op, false, false);
        case kReadDmaExt: return start_dma(op, false, true);
        case kWriteDma: case kWriteDmaNr: return start_dma(op, true, false);
        case kWriteDmaExt: return start_dma(op, true, true);
        case kSetMultiple: {
            u8 const n = count_.cur;
            if (n > kMaxMultiple || (n & (n - 1))) return fail(op, kErrAbrt, "SET MULTIPLE with an unsupported count");
            idp_.multiple = n;
            return complete_ok();
        }
        case kSetFeatures:
            if (features_.cur == 0x03) {
                u8 const m = count_.cur;
                bool const good = m <= 0x0C || (m >= 0x20 && m <= 0x22) || (m >= 0x40 && m <= 0x45);
                if (!good) return fail(op, kErrAbrt, "SET FEATURES with an unsupported transfer mode");
                idp_.xfer_mode = m;
            }
            return complete_ok();  // cache and look-ahead switches: nothing to do remotely
        case kDiagnostic:
            reset_signature();
            return irq();
        case kCheckPower:
            count_.cur = 0xFF;  // active or idle
            return complete_ok();
        case kFlush: case kFlushExt:  // the target acknowledged every write: nothing is cached here
        case kInitParams: case kStandbyNow: case kIdleNow: case kStandby: case kIdle:
            return complete_ok();
        case kVerify: case kVerifyNr: case kVerifyExt: {
            Lba lba;
            u32 count;
            if (!taskfile_lba(op == kVerifyExt, &lba, &count)) return fail(op, kErrAbrt, "CHS addressing");
            if (lba.raw >= idp_.sectors || count > idp_.sectors - lba.raw) return fail(op, kErrIdnf, "verify past the end");
            return complete_ok();
        }
    }
    if (op >= 0x10 && op <= 0x1F) return complete_ok();  // RECALIBRATE
    fail(op, kErrAbrt, "not supported by the AoE disk");
}

// ---- PIO -----------------------------------------------------------------------------------

void AoeDisk::start_pio(u8 op, bool write, bool ext, u32 block) {
    Lba lba;
    u32 count;
    if (!taskfile_lba(ext, &lba, &count)) return fail(op, kErrAbrt, "CHS addressing");
    if (lba.raw >= idp_.sectors || count > idp_.sectors - lba.raw) return fail(op, kErrIdnf, "sectors past the end");
    pio_op_ = op;
    pio_lba_ = lba;
    pio_left_ = count;
    pio_block_ = block;
    pio_in_block_ = block < count ? block : count;
    buf_pos_ = 0;
    buf_sectors_ = count < kChunkSectors ? count : kChunkSectors;
    if (write) {
        phase_ = Phase::PioOut;
        status_ = kDrdy | kDsc | kDrq;  // the first block goes without an interrupt
        return;
    }
    phase_ = Phase::PioIn;
    if (!pio_fetch()) return;
    status_ = kDrdy | kDsc | kDrq;
    irq();
}

bool AoeDisk::pio_fetch() {
    buf_sectors_ = pio_left_ < kChunkSectors ? pio_left_ : kChunkSectors;
    buf_pos_ = 0;
    DiskResult const r = dev_->read(pio_lba_, buf_sectors_, buf_);
    if (!r.ok()) {
        fail_io(pio_op_, r);
        return false;
    }
    return true;
}

u8 AoeDisk::data_byte_in() {
    if (phase_ != Phase::PioIn || slave()) return 0;
    u8 const b = buf_[buf_pos_++];
    if (buf_pos_ % 512 == 0) pio_in_sector_done();
    return b;
}

void AoeDisk::pio_in_sector_done() {
    if (pio_op_ != kIdentify) ++counters_.pio_sectors;
    --pio_left_;
    --pio_in_block_;
    if (pio_left_ == 0) {
        status_ = kDrdy | kDsc;
        phase_ = Phase::Idle;
        return;
    }
    if (pio_in_block_) return;
    pio_in_block_ = pio_block_ < pio_left_ ? pio_block_ : pio_left_;
    if (buf_pos_ == buf_sectors_ * 512) {
        pio_lba_ = pio_lba_ + buf_sectors_;
        if (!pio_fetch()) return;
    }
    status_ = kDrdy | kDsc | kDrq;
    irq();
}

void AoeDisk::data_byte_out(u8 b) {
    if (phase_ != Phase::PioOut || slave()) return;
    buf_[buf_pos_++] = b;
    if (buf_pos_ % 512 == 0) pio_out_sector_done();
}

void AoeDisk::pio_out_sector_done() {
    ++counters_.pio_sectors;
    --pio_left_;
    --pio_in_block_;
    if (pio_in_block_ && pio_left_) return;
    // A block is complete: send the chunk when it is full or the command's data ends.
    if (buf_pos_ == buf_sectors_ * 512) {
        DiskResult const r = dev_->write(pio_lba_, buf_sectors_, buf_);
        if (!r.ok()) return fail_io(pio_op_, r);
        pio_lba_ = pio_lba_ + buf_sectors_;
        buf_pos_ = 0;
        buf_sectors_ = pio_left_ < kChunkSectors ? pio_left_ : kChunkSectors;
    }
    if (pio_left_ == 0) return complete_ok();
    pio_in_block_ = pio_block_ < pio_left_ ? pio_block_ : pio_left_;
    status_ = kDrdy | kDsc | kDrq;
    irq();
}

// ---- DMA -----------------------------------------------------------------------------------

void AoeDisk::start_dma(u8 op, bool write, bool ext) {
    Lba lba;
    u32 count;
    if (!taskfile_lba(ext, &lba, &count)) return fail(op, kErrAbrt, "CHS addressing");
    if (lba.raw >= idp_.sectors || count > idp_.sectors - lba.raw) return fail(op, kErrIdnf, "sectors past the end");
    dma_op_ = op;
    dma_write_ = write;
    dma_lba_ = lba;
    dma_count_ = count;
    phase_ = Phase::DmaHeld;
    status_ = kDrdy | kDsc | kBsy;
    // Some drivers start the engine before issuing the command.
    if (bm_cmd_ & ide::kBmStart) run_dma();
}

void AoeDisk::run_dma() {
    ++counters_.dma_commands;
    auto bm_done = [this](bool error) {
        bm_status_ = static_cast<u8>((bm_status_ & ~ide::kBmActive) | ide::kBmIntr | (error ? ide::kBmError : 0));
    };
    bool const to_memory = (bm_cmd_ & ide::kBmToMemory) != 0;
    if (to_memory == dma_write_) {
        bm_done(false);
        return fail(dma_op_, kErrAbrt, "bus-master direction does not match the command");
    }
    u64 const bytes = static_cast<u64>(dma_count_) * 512;
    ShadowError const se = shadow_.load(*env_, Gpa{bm_prd_}, bytes);
    if (se != ShadowError::Ok) {
        env_->log("aoe-disk: DMA PRD table at %#x refused: %s", bm_prd_, shadow_error_name(se));
        bm_done(false);
        return fail(dma_op_, kErrAbrt, "bad PRD table");
    }
    for (u32 done = 0; done < dma_count_;) {
        u32 const left = dma_count_ - done;
        u32 const n = left < kChunkSectors ? left : kChunkSectors;
        u64 const off = static_cast<u64>(done) * 512;
        DiskResult r{};
        if (dma_write_) {
            copy_guest(off, static_cast<u64>(n) * 512, false);
            r = dev_->write(dma_lba_ + done, n, buf_);
        } else {
            r = dev_->read(dma_lba_ + done, n, buf_);
            if (r.ok()) copy_guest(off, static_cast<u64>(n) * 512, true);
        }
        if (!r.ok()) {
            bm_done(false);
            return fail_io(dma_op_, r);
        }
        done += n;
    }
    counters_.dma_bytes += bytes;
    bm_done(false);
    complete_ok();
}

// Between buf_ and the shadow's guest regions, starting `offset` bytes into the transfer.
void AoeDisk::copy_guest(u64 offset, u64 len, bool to_guest) {
    u64 pos = 0;
    u8* b = buf_;
    for (u32 i = 0; i < shadow_.count() && len; ++i) {
        GuestRegion const& g = shadow_.at(i);
        u64 const end = pos + g.bytes;
        if (end > offset) {
            u64 const skip = offset > pos ? offset - pos : 0;
            u64 const n = g.bytes - skip < len ? g.bytes - skip : len;
            u8* guest = env_->guest_ptr(Gpa{g.gpa.raw + skip});
            if (to_guest) memcpy(guest, b, n);
            else memcpy(b, guest, n);
            b += n;
            len -= n;
            offset += n;
        }
        pos = end;
    }
}

}  // namespace tv::ata
