// One AHCI port under mediation: the guest's register view, completion and copy-out.
// Issuing (shadowing and checks) is in ahci_issue.cpp.
#include "drivers/ahci/ahci_port.hpp"

#include <string.h>

namespace tv::ata::ahci {

// ---- BouncePool ----

void BouncePool::init(DmaMem mem, u32 pages) {
    mem_ = mem;
    pages_ = pages > kMaxPages ? kMaxPages : pages;
    used_count_ = 0;
    memset(used_, 0, sizeof used_);
}

void BouncePool::set(u32 first, u32 n, bool v) {
    for (u32 p = first; p < first + n; ++p) {
        if (v) used_[p / 64] |= 1ull << (p % 64);
        else used_[p / 64] &= ~(1ull << (p % 64));
    }
    used_count_ = v ? used_count_ + n : used_count_ - n;
}

bool BouncePool::alloc(u32 n, u32* first) {
    if (n == 0 || n > pages_) return false;
    u32 run = 0;
    for (u32 p = 0; p < pages_; ++p) {
        run = is_used(p) ? 0 : run + 1;
        if (run == n) {
            *first = p + 1 - n;
            set(*first, n, true);
            return true;
        }
    }
    return false;
}

void BouncePool::release(u32 first, u32 n) {
    if (n) set(first, n, false);
}

// ---- the port ----

void AhciPort::init(AhciEnv* env, BouncePool* pool, u32 index, DmaMem dma, PrdEntry* prds) {
    env_ = env;
    pool_ = pool;
    index_ = index;
    dma_ = dma;
    prds_ = prds;
    memset(dma_.virt, 0, kPortDmaBytes);
    // What the firmware left there is what the guest reads back until it writes its own.
    guest_clb_ = Gpa{env_->dev_read(off(kPxClb)) | u64{env_->dev_read(off(kPxClbu))} << 32};
    guest_fb_ = Gpa{env_->dev_read(off(kPxFb)) | u64{env_->dev_read(off(kPxFbu))} << 32};
    program_device_bases();
}

// The HBA latches PxCLB/PxFB when the guest sets PxCMD.ST/FRE; writing ours every time
// before that also covers resets that cleared them.
void AhciPort::program_device_bases() {
    u32 const cmd = env_->dev_read(off(kPxCmd));
    if (cmd & (kCmdSt | kCmdFre)) return;  // running: the registers are read-only now
    env_->dev_write(off(kPxClb), static_cast<u32>(shadow_clb().raw));
    env_->dev_write(off(kPxClbu), static_cast<u32>(shadow_clb().raw >> 32));
    env_->dev_write(off(kPxFb), static_cast<u32>(shadow_fb().raw));
    env_->dev_write(off(kPxFbu), static_cast<u32>(shadow_fb().raw >> 32));
}

u32 AhciPort::read(u32 reg) {
    switch (reg) {
    case kPxClb: return static_cast<u32>(guest_clb_.raw);
    case kPxClbu: return static_cast<u32>(guest_clb_.raw >> 32);
    case kPxFb: return static_cast<u32>(guest_fb_.raw);
    case kPxFbu: return static_cast<u32>(guest_fb_.raw >> 32);
    case kPxFbs: return 0;  // FIS-based switching hidden
    default: break;
    }
    // Register first, completion check second: a completion the value shows (PxIS.DHRS,
    // a cleared PxCI bit) has then certainly been finished before the guest acts on it. The
    // other order races with the HBA finishing between the two reads.
    u32 v = env_->dev_read(off(reg));
    u32 const waiting = deferred_;
    poll();
    u32 const started = waiting & ~deferred_;  // issued by this poll, after v was read
    if (reg == kPxCi) v |= deferred_ | started;
    if (reg == kPxSact) {
        u32 ncq = 0;
        for (u32 s = 0; s < kSlots; ++s)
            if (((deferred_ | started) >> s & 1) && slots_[s].ncq) ncq |= 1u << s;
        v |= ncq | sact_armed_;
    }
    return v;
}

bool AhciPort::quiet() const {
    if (deferred_) return false;
    for (u32 s = 0; s < kSlots; ++s)
        if ((active_ >> s & 1) && !slots_[s].quiet) return false;
    return true;
}

void AhciPort::write(u32 reg, u32 value) {
    // While quiet, the guest reads the device's registers without the monitor: a slot it saw
    // done may be reused now, and an error's FIS must be in its area before it looks there.
    if (reg != kPxCmd && active_) poll();
    switch (reg) {
    case kPxClb: guest_clb_.raw = (guest_clb_.raw & ~0xFFFFFFFFull) | value; return;
    case kPxClbu: guest_clb_.raw = (guest_clb_.raw & 0xFFFFFFFFull) | u64{value} << 32; return;
    case kPxFb: guest_fb_.raw = (guest_fb_.raw & ~0xFFFFFFFFull) | value; return;
    case kPxFbu: guest_fb_.raw = (guest_fb_.raw & 0xFFFFFFFFull) | u64{value} << 32; return;
    case kPxFbs: return;
    case kPxSact: sact_armed_ |= value & ~active_; return;
    case kPxCi: issue(value & ~active_); return;
    case kPxCmd: {
        poll();
        u32 const before = env_->dev_read(off(kPxCmd));
        if (value & (kCmdSt | kCmdFre)) program_device_bases();
        env_->dev_write(off(kPxCmd), value);
        // Clearing ST makes the HBA drop PxCI and PxSACT: our slots will never complete.
        if ((before & kCmdSt) && !(value & kCmdSt)) abandon_all();
        return;
    }
    default: env_->dev_write(off(reg), value); return;
    }
}

void AhciPort::abandon_all() {
    for (u32 s = 0; s < kSlots; ++s)
        if (slots_[s].state != SlotState::Free) release(s);
    sact_armed_ = 0;
}

void AhciPort::release(u32 s) {
    Slot& sl = slots_[s];
    if (sl.bounce_pages) pool_->release(sl.bounce_first, sl.bounce_pages);
    sl = Slot{};
    active_ &= ~(1u << s);
    deferred_ &= ~(1u << s);
}

void AhciPort::poll() {
    u32 issued = active_ & ~deferred_;
    if (issued) {
        u32 const ci = env_->dev_read(off(kPxCi));
        bool any_ncq = false;
        for (u32 s = 0; s < kSlots; ++s) any_ncq |= (issued >> s & 1) && slots_[s].ncq;
        u32 const sact = any_ncq ? env_->dev_read(off(kPxSact)) : 0;
        for (u32 s = 0; s < kSlots; ++s) {
            if (!(issued >> s & 1)) continue;
            bool const pending = (ci >> s & 1) || (slots_[s].ncq && (sact >> s & 1));
            if (!pending) complete(s);
        }
        fis_dirty_ = true;
    }
    if (fis_dirty_) copy_fis_to_guest();
    if (deferred_) start_deferred();
}

// The guest's received-FIS area mirrors ours: D2H, PIO setup and SDB FISes are how the
// guest learns status and errors (SeaBIOS reads them instead of PxTFD).
void AhciPort::copy_fis_to_guest() {
    fis_dirty_ = false;
    if (!guest_fb_.raw || !(env_->dev_read(off(kPxCmd)) & kCmdFre)) return;
    if (!env_->guest_write(guest_fb_, shadow_fis(), sizeof(ReceivedFis)))
        env_->note(index_, "guest received-FIS area is not guest RAM; not copied");
}

void AhciPort::complete(u32 s) {
    Slot& sl = slots_[s];
    u32 prdbc = shadow_header(s)->prdbc;
    if (sl.ncq || prdbc > sl.bytes) prdbc = sl.bytes;  // NCQ leaves PRDBC undefined; success moved it all
    if (sl.data_in && sl.bytes && sl.direct) {
        counters_.bytes_in += sl.bytes;  // the device wrote the guest's buffers itself
    } else if (sl.data_in && sl.bytes) {
        u8* buf = pool_->virt(sl.bounce_first);
        if (sl.crypt && !ok(crypt_.decrypt(sl.lba, buf, sl.sectors))) {
            // Never hand ciphertext to the guest as if it were data.
            memset(buf, 0, sl.bytes);
            env_->refused(index_, s, sl.command, "decryption failed; data zeroed");
        }
        if (sl.identify) attach_from_identify(buf);
        scatter(s, sl.bytes);
        counters_.bytes_in += sl.bytes;
    } else if (sl.bytes) {
        counters_.bytes_out += sl.bytes;
    }
    // The guest learns how much moved from its own header, as without the monitor. Not for a
    // quiet slot (NCQ: PRDBC undefined): the guest may already have reused the slot's header.
    if (!sl.quiet && !env_->guest_write(Gpa{guest_clb_.raw + u64{s} * sizeof(CommandHeader) + __builtin_offsetof(CommandHeader, prdbc)},
                           &prdbc, sizeof prdbc))
        env_->note(index_, "guest command list is not guest RAM; PRDBC not written");
    ++counters_.completed;
    release(s);
}

// Copies bytes of the bounce buffer into the guest buffers of the copied PRDT, in order.
void AhciPort::scatter(u32 s, u32 bytes) {
    Slot const& sl = slots_[s];
    u8 const* src = pool_->virt(sl.bounce_first);
    PrdEntry const* p = guest_prds(s);
    u64 done = 0;
    for (u32 i = 0; i < sl.guest_prds && done < bytes; ++i) {
        Gpa const gpa{p[i].dba | u64{p[i].dbau} << 32};
        u64 len = (p[i].dbc & kPrdDbcMask) + 1;
        if (len > bytes - done) len = bytes - done;
        if (!env_->guest_write(gpa, src + done, len)) env_->note(index_, "PRD target vanished; data dropped");
        done += len;
    }
}

// And the other way, before a write is issued.
void AhciPort::gather(u32 s) {
    Slot const& sl = slots_[s];
    u8* dst = pool_->virt(sl.bounce_first);
    PrdEntry const* p = guest_prds(s);
    u64 done = 0;
    for (u32 i = 0; i < sl.guest_prds && done < sl.bytes; ++i) {
        Gpa const gpa{p[i].dba | u64{p[i].dbau} << 32};
        u64 len = (p[i].dbc & kPrdDbcMask) + 1;
        if (len > sl.bytes - done) len = sl.bytes - done;
        if (!env_->guest_read(gpa, dst + done, len)) memset(dst + done, 0, len);
        done += len;
    }
}

void AhciPort::start_deferred() {
    u32 ci_bits = 0;
    for (u32 s = 0; s < kSlots; ++s) {
        if (!(deferred_ >> s & 1)) continue;
        if (!start(s, &ci_bits)) break;  // keep the guest's order: no overtaking
        deferred_ &= ~(1u << s);
    }
    if (ci_bits) env_->dev_write(off(kPxCi), ci_bits);
}

}  // namespace tv::ata::ahci
