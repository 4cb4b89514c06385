// File protection on the AHCI write path (storage/write_rule.hpp decides; this only fetches
// what it needs), as drivers/ide/ide_protect.cpp does for IDE: before a write that touches a
// policy range reaches the device, its sectors' current content is read by the monitor, in
// the write's own slot and by polling, so that a write leaving the protected bytes as they
// are (an inode table or directory block shared with other files) goes through.
//
// The read uses the write's protocol: READ FPDMA QUEUED with the write's tag beside other
// queued commands, READ DMA EXT otherwise (a guest that sends a non-queued write has no
// queued command in flight, or the device refuses both). Reads trap first, so that no CPU
// sees the slot's PxCI bit clear while the monitor's read, not the guest's write, finished.
// The interrupt causes it raised are cleared only when no other command is in flight; else
// the guest gets one spurious interrupt rather than risk losing one of its own.
#include <string.h>

#include "drivers/ahci/ahci_port.hpp"

namespace tv::ata::ahci {

namespace {
constexpr u32 kSpin = 2000000;  // register reads; far beyond a disk's read time under emulation
constexpr u32 kTfdErr = 0x01;
constexpr u32 kIsTfes = 1u << 30;

FisH2d read_fis(u32 s, bool ncq, Lba lba, u32 sectors) {
    FisH2d f{};
    f.type = kFisH2d;
    f.flags = kFisH2dCommand;
    f.command = ncq ? cmd::kReadFpdma : cmd::kReadDmaExt;
    f.device = 0x40;  // LBA
    u8* l[6] = {&f.lba0, &f.lba1, &f.lba2, &f.lba3, &f.lba4, &f.lba5};
    for (u32 i = 0; i < 6; ++i) *l[i] = static_cast<u8>(lba.raw >> (8 * i));
    u16 const n = static_cast<u16>(sectors);  // 65536 is 0 in both protocols
    if (ncq) {
        f.features_lo = static_cast<u8>(n), f.features_hi = static_cast<u8>(n >> 8);
        f.count_lo = static_cast<u8>(s << 3);  // the tag
    } else {
        f.count_lo = static_cast<u8>(n), f.count_hi = static_cast<u8>(n >> 8);
    }
    return f;
}
}  // namespace

// The sectors of slot s's write, plaintext, into `pages` bounce pages from *first.
bool AhciPort::read_current(u32 s, u32* first) {
    Slot const& sl = slots_[s];
    if (!pool_->alloc(sl.bounce_pages, first)) {
        env_->note(index_, "no bounce pages to read a protected write's sectors first: refused");
        return false;
    }
    CommandTableHead* t = reinterpret_cast<CommandTableHead*>(table_virt(s));
    u8 saved[sizeof t->cfis];  // the checked copy of the guest's FIS, put back afterwards
    memcpy(saved, t->cfis, sizeof saved);
    FisH2d const f = read_fis(s, sl.ncq, sl.lba, sl.sectors);
    memset(t->cfis, 0, sizeof t->cfis);
    memcpy(t->cfis, &f, sizeof f);
    PrdEntry* p = reinterpret_cast<PrdEntry*>(table_virt(s) + sizeof(CommandTableHead));
    u32 n = 0;
    for (u64 done = 0; done < sl.bytes; ++n) {
        u64 const len = sl.bytes - done < kPrdMaxBytes ? sl.bytes - done : kPrdMaxBytes;
        u64 const dev = pool_->dev(*first).raw + done;
        p[n] = PrdEntry{static_cast<u32>(dev), static_cast<u32>(dev >> 32), 0, static_cast<u32>(len - 1)};
        done += len;
    }
    CommandHeader* h = shadow_header(s);
    *h = CommandHeader{};
    h->flags = sizeof(FisH2d) / 4;  // a read: no W bit
    h->prdtl = static_cast<u16>(n);
    h->ctba = static_cast<u32>(table_dev(s).raw);
    h->ctbau = static_cast<u32>(table_dev(s).raw >> 32);

    env_->trap_reads();
    u32 const bit = 1u << s;
    u32 const is_before = env_->dev_read(off(kPxIs));
    if (sl.ncq) env_->dev_write(off(kPxSact), bit);
    env_->dev_write(off(kPxCi), bit);
    bool done = false, failed = false;
    for (u32 i = 0; i < kSpin && !done && !failed; ++i) {
        done = !(env_->dev_read(off(kPxCi)) & bit) && !(sl.ncq && (env_->dev_read(off(kPxSact)) & bit));
        failed = (env_->dev_read(off(kPxIs)) & ~is_before & kIsTfes) != 0;
    }
    bool good = done && !failed && !(env_->dev_read(off(kPxTfd)) & kTfdErr);
    if (good && !ok(crypt_.decrypt(sl.lba, pool_->virt(*first), sl.sectors))) good = false;
    if (good && active_ == bit) env_->dev_write(off(kPxIs), env_->dev_read(off(kPxIs)) & ~is_before);
    memcpy(t->cfis, saved, sizeof saved);
    if (!good) {
        env_->note(index_, "a protected write's sectors could not be read first: refused");
        pool_->release(*first, sl.bounce_pages);
    }
    return good;
}

// The write's plaintext is in its bounce pages; false if the policy refuses it (the whole
// command). Sectors that could not be read count as changed (fail closed).
bool AhciPort::protect_write(u32 s) {
    Slot const& sl = slots_[s];
    u32 first = 0;
    bool const have = read_current(s, &first);
    Status const st = crypt_.check_write(sl.lba, pool_->virt(sl.bounce_first), sl.sectors,
                                         have ? pool_->virt(first) : nullptr);
    if (have) pool_->release(first, sl.bounce_pages);
    return ok(st);
}

}  // namespace tv::ata::ahci
