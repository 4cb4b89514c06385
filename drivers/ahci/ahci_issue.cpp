// Issuing a guest's command slot: copy everything into monitor memory, then check the copies
// (command allow-list, key policy, PRDT), then give the device a shadow header, table and PRDT
// that point at a bounce buffer, or (zero-copy, when the storage pipeline says the data needs
// no transformation) the checked copy of the guest's PRDT. A refused slot is issued as NOP so
// the device aborts it.
#include <string.h>

#include "drivers/ahci/ahci_port.hpp"

namespace tv::ata::ahci {

bool decode_h2d(u8 const* cfis, AtaCommand* out, bool* control) {
    FisH2d f;
    memcpy(&f, cfis, sizeof f);
    *out = AtaCommand{};
    out->command = f.command;
    *control = false;
    if (f.type != kFisH2d) return false;
    if (!(f.flags & kFisH2dCommand)) {
        *control = true;
        return true;
    }
    u16 const features = static_cast<u16>(f.features_lo | f.features_hi << 8);
    u16 const count = static_cast<u16>(f.count_lo | f.count_hi << 8);
    u64 const lba48 = u64{f.lba0} | u64{f.lba1} << 8 | u64{f.lba2} << 16 | u64{f.lba3} << 24 | u64{f.lba4} << 32 |
                      u64{f.lba5} << 40;
    if (!ata_decode(f.command, features, count, lba48, true, out)) return false;
    // A 28-bit command takes LBA 27:24 from the device register, not from the LBA(3) byte.
    if (!out->lba48) out->lba = Lba{(lba48 & 0xFFFFFF) | u64{f.device & 0xFu} << 24};
    return true;
}

void AhciPort::issue(u32 bits) {
    u32 ci_bits = 0;
    for (u32 s = 0; s < kSlots; ++s) {
        if (!(bits >> s & 1)) continue;
        active_ |= 1u << s;
        ++counters_.issued;
        if (char const* why = shadow_slot(s)) {
            ++counters_.refused;
            env_->refused(index_, s, slots_[s].command, why);
            substitute_nop(s);
        }
        // Slots waiting for bounce pages stay waiting; later ones wait behind them.
        if (deferred_ || !start(s, &ci_bits)) {
            deferred_ |= 1u << s;
            slots_[s].state = SlotState::Deferred;
            ++counters_.deferred;
        }
    }
    sact_armed_ &= ~bits;
    if (!quiet()) env_->trap_reads();  // before the device can finish what the monitor must see
    if (ci_bits) env_->dev_write(off(kPxCi), ci_bits);
}

// Copies header, FIS, ATAPI command and PRDT first; checks only the copies.
char const* AhciPort::shadow_slot(u32 s) {
    Slot& sl = slots_[s];
    sl = Slot{};
    CommandHeader h;
    if (!env_->guest_read(Gpa{guest_clb_.raw + u64{s} * sizeof h}, &h, sizeof h)) return "command list is not guest RAM";
    Gpa const ctba{h.ctba | u64{h.ctbau} << 32};
    CommandTableHead* t = reinterpret_cast<CommandTableHead*>(table_virt(s));
    if (!env_->guest_read(ctba, t, sizeof *t)) return "command table is not guest RAM";
    u32 const n = h.prdtl;
    bool const prdt_fits = n <= kMaxGuestPrds;
    if (prdt_fits && n && !env_->guest_read(Gpa{ctba.raw + sizeof *t}, guest_prds(s), n * sizeof(PrdEntry)))
        return "PRDT is not guest RAM";
    sl.flags = h.flags;
    sl.guest_prds = static_cast<u16>(prdt_fits ? n : 0);
    // From here on only the copies count.
    if (ctba.raw % 128) return "command table not 128-byte aligned";
    if (!prdt_fits) return "PRDT longer than the mediator accepts";
    u16 const cfl = h.flags & kHdrCflMask;
    if (cfl < sizeof(FisH2d) / 4 || cfl > 16) return "bad command FIS length";
    if (h.flags & kHdrAtapi) return "ATAPI commands are not mediated";
    if (h.flags >> kHdrPmpShift) return "port multipliers are not mediated";
    AtaCommand c;
    bool control;
    bool const allowed = decode_h2d(t->cfis, &c, &control);
    sl.command = c.command;
    if (!allowed) return "command not on the allow-list";
    if (control) {  // soft reset and the like: no data, nothing to check
        sl.guest_prds = 0;
        return nullptr;
    }
    return check_command(s, c);
}

char const* AhciPort::check_command(u32 s, AtaCommand const& c) {
    Slot& sl = slots_[s];
    sl.ncq = c.proto == Proto::Fpdma;
    sl.data_in = c.dir == Dir::Read;
    sl.identify = c.command == cmd::kIdentify;
    if (sl.ncq) {
        u8 const* cfis = reinterpret_cast<CommandTableHead*>(table_virt(s))->cfis;
        // The device reports NCQ completion by tag; the slot must be the tag or completions mix.
        if ((cfis[offsetof(FisH2d, count_lo)] >> 3) != s) return "NCQ tag differs from the command slot";
    }
    if (c.dir == Dir::None) {
        sl.guest_prds = 0;
        return nullptr;
    }
    if (bool(sl.flags & kHdrWrite) != (c.dir == Dir::Write)) return "header W bit contradicts the command";
    u64 total = 0;
    if (char const* why = check_prdt(s, &total)) return why;
    u64 expected = u64{c.count} * 512;
    if (c.media) {
        // Unidentified disks are plaintext only when no disk is configured at all.
        if (!crypt_.attached() && crypt_.policy() != DiskPolicy::PassThrough) return "media command before IDENTIFY";
        if (!crypt_.allowed(c.lba, c.count)) return "sectors refused by the key policy";
        expected = u64{c.count} * crypt_.sector_size();
        if (total != expected) return "PRDT byte count does not match the sector count";
        sl.crypt = crypt_.active();
        sl.direct = crypt_.zero_copy(c.lba, c.count, c.dir == Dir::Write);
        sl.lba = c.lba;
        sl.sectors = c.count;
    } else if (total < expected) {
        return "PRDT shorter than the command's data";
    }
    if (!sl.direct && (expected > u64{pool_->pages()} * kPageSize || expected > kShadowPrds * kPrdMaxBytes))
        return "transfer larger than the bounce pool";
    sl.bytes = static_cast<u32>(expected);
    // Nothing to do at completion: zero-copy, or a write whose bounce pages can wait for the
    // next poll. NCQ only: a non-queued command's PRDBC belongs in the guest's header.
    sl.quiet = sl.ncq && (sl.direct || !sl.data_in);
    return nullptr;
}

// Every entry: word-aligned address, even length, reserved bits clear, inside guest RAM and
// outside the monitor. Total must be representable.
char const* AhciPort::check_prdt(u32 s, u64* total) {
    Slot const& sl = slots_[s];
    if (sl.guest_prds == 0) return "data command without a PRDT";
    PrdEntry const* p = guest_prds(s);
    u64 sum = 0;
    for (u32 i = 0; i < sl.guest_prds; ++i) {
        Gpa const gpa{p[i].dba | u64{p[i].dbau} << 32};
        u32 const dbc = p[i].dbc & kPrdDbcMask;
        if ((p[i].dba & 1) || !(dbc & 1)) return "PRD address or length not word-aligned";
        if (p[i].reserved || (p[i].dbc & ~(kPrdDbcMask | kPrdIrq))) return "PRD reserved bits set";
        if (!env_->guest_ok(gpa, u64{dbc} + 1)) return "PRD points outside guest RAM (monitor memory?)";
        sum += u64{dbc} + 1;
    }
    *total = sum;
    return nullptr;
}

// ATA NOP with subcommand 0 is aborted by every device: a real error for the guest to see.
void AhciPort::substitute_nop(u32 s) {
    Slot& sl = slots_[s];
    u8 const command = sl.command;
    sl = Slot{};
    sl.command = command;
    FisH2d nop{};
    nop.type = kFisH2d;
    nop.flags = kFisH2dCommand;
    nop.command = cmd::kNop;
    nop.device = 0xA0;
    u8* cfis = reinterpret_cast<CommandTableHead*>(table_virt(s))->cfis;
    memset(cfis, 0, sizeof(CommandTableHead::cfis));
    memcpy(cfis, &nop, sizeof nop);
    sl.flags = sizeof(FisH2d) / 4;
}

// Bounce pages, data in, shadow header. False: no pages now (the slot waits).
bool AhciPort::start(u32 s, u32* ci_bits) {
    Slot& sl = slots_[s];
    if (sl.bytes && !sl.direct) {
        u32 const pages = static_cast<u32>(align_up(sl.bytes, kPageSize) / kPageSize);
        if (!pool_->alloc(pages, &sl.bounce_first)) return false;
        sl.bounce_pages = pages;
        if (!sl.data_in) {
            gather(s);
            // File protection: judged against the sectors read first (ahci_protect.cpp).
            if (sl.sectors && crypt_.write_touches_rules(sl.lba, sl.sectors) && !protect_write(s)) {
                env_->refused(index_, s, sl.command, "write to bytes the file-protection policy protects");
                release(s);
                active_ |= 1u << s;
                substitute_nop(s);
            } else if (sl.crypt && !ok(crypt_.encrypt(sl.lba, pool_->virt(sl.bounce_first), sl.sectors))) {
                // Plaintext must not reach the disk: the command becomes an aborted NOP.
                env_->refused(index_, s, sl.command, "encryption failed");
                release(s);
                active_ |= 1u << s;
                substitute_nop(s);
            }
        }
    }
    build_shadow_prdt(s);
    sl.state = SlotState::Issued;
    if (sl.ncq) env_->dev_write(off(kPxSact), 1u << s);
    *ci_bits |= 1u << s;
    return true;
}

void AhciPort::build_shadow_prdt(u32 s) {
    Slot& sl = slots_[s];
    PrdEntry const* gp = guest_prds(s);
    for (u32 i = 0; i < sl.guest_prds; ++i) sl.irq |= (gp[i].dbc & kPrdIrq) != 0;
    PrdEntry* p = reinterpret_cast<PrdEntry*>(table_virt(s) + sizeof(CommandTableHead));
    u32 n = 0;
    if (sl.direct) {  // the checked copy: guest RAM outside the monitor, exactly sl.bytes
        memcpy(p, gp, sl.guest_prds * sizeof(PrdEntry));
        n = sl.guest_prds;
    }
    for (u64 done = 0; !sl.direct && done < sl.bytes; ++n) {
        u64 const len = sl.bytes - done < kPrdMaxBytes ? sl.bytes - done : kPrdMaxBytes;
        u64 const dev = pool_->dev(sl.bounce_first).raw + done;
        p[n] = PrdEntry{static_cast<u32>(dev), static_cast<u32>(dev >> 32), 0, static_cast<u32>(len - 1)};
        done += len;
    }
    if (n && sl.irq) p[n - 1].dbc |= kPrdIrq;
    CommandHeader* h = shadow_header(s);
    *h = CommandHeader{};
    h->flags = sl.flags;
    h->prdtl = static_cast<u16>(n);
    h->ctba = static_cast<u32>(table_dev(s).raw);
    h->ctbau = static_cast<u32>(table_dev(s).raw >> 32);
}

}  // namespace tv::ata::ahci
