// The e1000 mediator's guest side: the guest's TX descriptors read once and checked, then
// either handed to the device (zero-copy) or copied out for the frame switch; its completions;
// frames written into its RX ring as the device would.
#include <string.h>

#include "drivers/nic/e1000_mediator.hpp"
#include "drivers/nic/tx_checksum.hpp"
#include "drivers/nic/tx_tso.hpp"

namespace tv::nic {

using namespace e1000;

namespace {
constexpr u32 next(u32 i, u32 n) { return i + 1 == n ? 0 : i + 1; }
constexpr u8 kRxErrRxe = 0x80;  // "RX data error": the guest's driver drops such a frame
constexpr u32 kMaxFcs = 4;
}  // namespace

void E1000GuestRings::init(NicEnv* env, NicCounters* c, E1000DeviceRings* dev, sw::FrameSwitch* sw, Hpa zero_dev) {
    env_ = env;
    c_ = c;
    dev_ = dev;
    sw_ = sw;
    zero_dev_ = zero_dev;
}

void E1000GuestRings::reset() {
    rdbal = rdbah = rdlen = rdh = rdt = 0;
    tdbal = tdbah = tdlen = tdh = tdt = tdnext = 0;
    open_syncs = 0;
    copy_len_ = 0;
    copying_ = copy_bad_ = false;
    at_packet_start_ = true;
    pkt_tso_ = pkt_csum_ = tso_refused_ = false;
    ctx_ = TxDesc{};
}

bool E1000GuestRings::ring_ok(u32 lo, u32 hi, u32 len, Refusal why) {
    Gpa const base = ring_base(lo, hi);
    if (len == 0 || len % kRingAlign != 0 || base.raw % kDescSize != 0 || !env_->guest_ok(base, len)) {
        refuse(why, base.raw);
        return false;
    }
    return true;
}

void E1000GuestRings::refuse(Refusal r, u64 detail) {
    u64 const n = ++c_->refused[static_cast<u32>(r)];
    if (n <= E1000Mediator::kLogPerReason) env_->refused(refusal_name(r), detail);
}

void E1000GuestRings::fetch_tx() {
    if ((tctl & kTctlEn) && tdnext != tdt && ring_ok(tdbal, tdbah, tdlen, Refusal::TxRing)) {
        Gpa const base = ring_base(tdbal, tdbah);
        u32 const count = tdlen / kDescSize;
        if (tdnext >= count || tdt >= count) {
            refuse(Refusal::BadIndex, tdt);
            tdnext = tdt = 0;
        }
        bool const copy_out = sw_->copy_out();
        while (tdnext != tdt && (copy_out || !dev_->full())) {
            u32 const gnext = next(tdnext, count);
            Gpa const gdesc{base.raw + u64{tdnext} * kDescSize};
            if (copy_out) copy_out_one(gdesc, gnext);
            else copy_one(gdesc, gnext);
            tdnext = gnext;
            open_syncs = 0;
        }
    }
    if (dev_->in_packet() && dev_->waiting_frames() && ++open_syncs >= kMaxOpenSyncs) {
        dev_->close_open_packet();
        refuse(Refusal::TxOpenPacket, tdt);
        open_syncs = 0;
        copying_ = false;
        at_packet_start_ = true;
    }
}

void E1000GuestRings::tx_done(TxSlot const& s) {
    if (s.guest_rs) {
        u8 const dd = kTxStatDd;
        if (!env_->guest_write(Gpa{s.gdesc.raw + 12}, &dd, 1)) refuse(Refusal::TxRing, s.gdesc.raw);
    }
    tdh = s.gnext;
}

// Appends one data descriptor's bytes to the packet being copied, read once from guest RAM.
void E1000GuestRings::gather(TxDesc const& d, u32 len, bool ext, bool eop) {
    if (!ext && (tx_cmd(d) & kTxCmdIc)) {  // legacy checksum request: applies to this packet
        ctx_ = TxDesc{};
        legacy_ic_ = true;
        legacy_cso_ = static_cast<u8>(d.lower >> 16);
        legacy_css_ = d.b13;
    }
    if (ext) popts_ |= d.b13;
    if (ext && (tx_cmd(d) & kTxCmdTse)) tso_ = true;  // cut into frames at the end (tx_tso)
    u32 const room = tso_ ? kTsoBytes : kCopyBytes;
    if (len > room - copy_len_) (tso_ ? tso_overflow_ : copy_bad_) = true;
    if (!copy_bad_ && !tso_overflow_ && len && !env_->guest_read(Gpa{d.addr}, copy_ + copy_len_, len)) copy_bad_ = true;
    if (!copy_bad_ && !tso_overflow_) copy_len_ += len;
    if (!eop) return;
    if (copy_bad_) {
        refuse(Refusal::TxCopy, copy_len_);
    } else if (tso_overflow_) {
        refuse(Refusal::TxTso, static_cast<u64>(TsoVerdict::TooLong));
    } else if (tso_) {
        segment();
    } else {
        TxChecksums const sums = legacy_ic_ ? legacy_checksum(legacy_css_, legacy_cso_)
                                            : context_checksums(ctx_, popts_);
        apply_checksums(copy_, copy_len_, sums);
        ++c_->tx_guest_copied;
        sw_->from_guest(sw::Frame{copy_, copy_len_});
    }
    copying_ = copy_bad_ = legacy_ic_ = tso_ = tso_overflow_ = false;
    copy_len_ = 0;
    popts_ = 0;
}

// A whole TSO packet in copy_: its frames to the switch one by one, each as the device would
// have sent it (its checksums computed by tx_tso whatever POPTS asked), or nothing at all.
void E1000GuestRings::segment() {
    u32 frames = 0;
    TsoVerdict const v = tso_segment(copy_, copy_len_, tso_context(ctx_), seg_, kCopyBytes, to_switch, this, &frames);
    if (v != TsoVerdict::Ok) {
        refuse(Refusal::TxTso, static_cast<u64>(v));
        return;
    }
    ++c_->tx_tso_packets;
    c_->tx_tso_segments += frames;
    c_->tx_guest_copied += frames;
}

void E1000GuestRings::to_switch(void* ctx, u8 const* frame, u32 len) {
    static_cast<E1000GuestRings*>(ctx)->sw_->from_guest(sw::Frame{frame, len});
}

// Zero-copy: the device segments what a TSO context describes from bytes the guest can still
// change, so only the descriptor's own numbers can be held to an ordinary frame (tx_tso).
void E1000GuestRings::check_tso_context(TxDesc& d) {
    tso_refused_ = false;
    if (!(tx_cmd(d) & kTxCmdTse)) return;
    TsoVerdict const v = tso_context_check(tso_context(d), kCopyBytes);
    if (v == TsoVerdict::Ok) return;
    refuse(Refusal::TxTso, static_cast<u64>(v));
    d.lower &= ~(u32{kTxCmdTse} << 24);
    tso_refused_ = true;
}

// Zero-copy: one guest descriptor, read once; only the copy is looked at and handed to the
// device. The first bytes of each packet go to the switch, which may want a copy.
void E1000GuestRings::copy_one(Gpa gdesc, u32 gnext) {
    TxDesc d{};
    if (!env_->guest_read(gdesc, &d, sizeof d)) {
        refuse(Refusal::TxRing, gdesc.raw);
        d = TxDesc{};  // an empty legacy descriptor: consumes the slot, sends nothing
    }
    u8 cmd = tx_cmd(d);
    bool const ext = cmd & kTxCmdDext;
    bool const context = ext && tx_dtyp(d) == kTxDtypContext;
    u32 len = 0;
    if (context) {
        ctx_ = d;
        check_tso_context(d);
    } else {
        // An unknown extended type is sent as zeros from the monitor's zero page, whatever its
        // address says (address 0 is guest RAM: it would pass the buffer check).
        bool const bad_type = ext && tx_dtyp(d) != kTxDtypData;
        if (bad_type) {
            refuse(Refusal::TxDescType, d.lower);
            d.lower = (d.lower & ~(0xFu << 20)) | kTxDtypData << 20;
        }
        len = ext ? d.lower & 0xFFFFF : d.lower & 0xFFFF;
        if (ext && (cmd & kTxCmdTse) && (tso_refused_ || !(tx_cmd(ctx_) & kTxCmdTse))) {
            cmd = static_cast<u8>(cmd & ~kTxCmdTse);  // by a refused (or no) context: unsegmented
            d.lower &= ~(u32{kTxCmdTse} << 24);
        }
        if (len && (bad_type || !env_->guest_ok(Gpa{d.addr}, len))) {
            if (!bad_type) refuse(Refusal::TxBuffer, d.addr);
            d.addr = zero_dev_.raw;
            if (len > E1000Layout::kZeroBytes) len = E1000Layout::kZeroBytes;
            d.lower = (d.lower & (ext ? ~0xFFFFFu : ~0xFFFFu)) | len;
            copying_ = false;  // the monitor never copies what the device reads as zeros
            at_packet_start_ = false;
        }
        if (dev_->packet_descs() + 1 >= kMaxPacketDescs && !(cmd & kTxCmdEop)) {
            refuse(Refusal::TxLongPacket, gdesc.raw);
            cmd |= kTxCmdEop;
            d.lower |= u32{kTxCmdEop} << 24;
        }
        if (at_packet_start_ && len >= 14) {
            u8 hdr[14];
            copying_ = env_->guest_read(Gpa{d.addr}, hdr, sizeof hdr) && sw_->guest_copy_wanted(sw::Frame{hdr, 14});
        }
        at_packet_start_ = false;
        if (copying_) gather(d, len, ext, cmd & kTxCmdEop);
        pkt_tso_ |= ext && (cmd & kTxCmdTse);
        pkt_csum_ |= ext ? (d.b13 & (kTxPoptsIxsm | kTxPoptsTxsm)) != 0 : (cmd & kTxCmdIc) != 0;
    }
    bool const eop = !context && (cmd & kTxCmdEop);
    dev_->push_guest(d, gdesc, gnext, cmd & (kTxCmdRs | kTxCmdRps), eop, context);
    ++c_->tx_guest_descs;
    if (eop) {
        c_->tx_offload_tso += pkt_tso_;
        c_->tx_offload_csum += pkt_csum_;
        pkt_tso_ = pkt_csum_ = false;
        ++c_->tx_guest_packets;
        at_packet_start_ = true;
        copying_ = false;
        copy_len_ = 0;
    }
}

// Copy-out: the guest's descriptor is read once, its bytes copied into monitor memory and the
// descriptor completed at once; the whole frame goes to the switch at its end.
void E1000GuestRings::copy_out_one(Gpa gdesc, u32 gnext) {
    TxDesc d{};
    if (!env_->guest_read(gdesc, &d, sizeof d)) {
        refuse(Refusal::TxRing, gdesc.raw);
        d = TxDesc{};
    }
    u8 const cmd = tx_cmd(d);
    bool const ext = cmd & kTxCmdDext;
    if (ext && tx_dtyp(d) == kTxDtypContext) {
        ctx_ = d;
    } else if (ext && tx_dtyp(d) != kTxDtypData) {
        refuse(Refusal::TxDescType, d.lower);
        copy_bad_ = true;
    } else {
        u32 const len = ext ? d.lower & 0xFFFFF : d.lower & 0xFFFF;
        if (len && !env_->guest_ok(Gpa{d.addr}, len)) {
            refuse(Refusal::TxBuffer, d.addr);
            copy_bad_ = true;
        }
        bool eop = cmd & kTxCmdEop;
        if (++copy_descs_ >= kMaxPacketDescs && !eop) {
            refuse(Refusal::TxLongPacket, gdesc.raw);
            eop = true;
        }
        gather(d, len, ext, eop);
        if (eop) {
            ++c_->tx_guest_packets;
            copy_descs_ = 0;
        }
    }
    ++c_->tx_guest_descs;
    if (cmd & (kTxCmdRs | kTxCmdRps)) {
        u8 const dd = kTxStatDd;
        if (!env_->guest_write(Gpa{gdesc.raw + 12}, &dd, 1)) refuse(Refusal::TxRing, gdesc.raw);
    }
    tdh = gnext;
    ++completed_;
}

// The guest's receive addresses, where the device keeps them (RAR[15] is the monitor's).
bool E1000GuestRings::unicast_wanted(MacAddr dst) {
    for (u32 n = 0; n < kMonitorRar; ++n) {
        u32 const hi = env_->dev_read(rah(n));
        if (!(hi & kRahValid)) continue;
        u32 const lo = env_->dev_read(ral(n));
        MacAddr const m{{static_cast<u8>(lo), static_cast<u8>(lo >> 8), static_cast<u8>(lo >> 16),
                         static_cast<u8>(lo >> 24), static_cast<u8>(hi), static_cast<u8>(hi >> 8)}};
        if (m == dst) return true;
    }
    return false;
}

// Copies one frame into as many guest descriptors as its buffer size needs, as the device
// would, or drops it when the guest cannot take it now.
bool E1000GuestRings::receive(sw::Frame f, void const* meta) {
    if (!(rctl & kRctlEn)) {
        ++c_->rx_guest_disabled;
        return false;
    }
    auto const* wm = static_cast<WireMeta const*>(meta);
    // The device's broadcast filter is the guest's to set (RCTL.BAM); the monitor's need for
    // broadcasts keeps it on in the device, so it is applied here.
    if (!(rctl & kRctlBam) && f.len >= 6 && sw::dst_mac(f) == MacAddr{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}}) {
        ++c_->rx_guest_filtered;
        return true;  // not lost: the guest asked not to see it
    }
    if (wm && soft_unicast_filter && !(rctl & kRctlUpe) && f.len >= 6 && !(f.data[0] & 1) &&
        !unicast_wanted(sw::dst_mac(f))) {
        ++c_->rx_guest_filtered;
        return true;  // another host's frame, seen only because the device is promiscuous
    }
    // The guest's driver strips the FCS the device keeps for it: a frame the monitor made
    // gets four zero bytes in its place (nothing checks them after the device).
    u8 const* buf = f.data;
    u32 len = f.len;
    if (wm) {
        len += wm->fcs;
    } else if (!(rctl & kRctlSecrc)) {
        if (f.len + kMaxFcs > sizeof rx_scratch_) return false;
        memcpy(rx_scratch_, f.data, f.len);
        memset(rx_scratch_ + f.len, 0, kMaxFcs);
        buf = rx_scratch_;
        len += kMaxFcs;
    }
    RxDesc const hw = wm ? wm->hw : RxDesc{0, 0, 0, kRxDd | kRxEop | kRxIxsm, 0, 0};
    Gpa const base = ring_base(rdbal, rdbah);
    // The monitor's own frames (its ARP broadcasts) can come while the guest's driver is
    // half-way through setting its ring up: dropped as the device would, without a refusal.
    if (!wm && (rdlen == 0 || rdlen % kRingAlign != 0 || base.raw == 0 || !env_->guest_ok(base, rdlen))) {
        ++c_->rx_guest_disabled;
        return false;
    }
    if (!ring_ok(rdbal, rdbah, rdlen, Refusal::RxRing)) return false;
    u32 const count = rdlen / kDescSize, bufsize = rx_buffer_size(rctl);
    if (rdh >= count || rdt >= count) {
        refuse(Refusal::BadIndex, rdt);
        return false;
    }
    u32 const need = (len + bufsize - 1) / bufsize;
    u32 const avail = (rdt + count - rdh) % count;
    if (avail < need) {
        ++c_->rx_guest_ring_full;
        return false;
    }
    for (u32 done = 0; done < len;) {
        Gpa const gd{base.raw + u64{rdh} * kDescSize};
        RxDesc g{};
        u32 const chunk = len - done < bufsize ? len - done : bufsize;
        bool const last = done + chunk == len;
        RxDesc out{0, static_cast<u16>(chunk), hw.csum, static_cast<u8>((hw.status & ~(kRxDd | kRxEop)) | kRxDd),
                   last ? hw.errors : u8{0}, hw.special};
        if (!env_->guest_read(gd, &g, sizeof g) || !env_->guest_write(Gpa{g.addr}, buf + done, chunk)) {
            refuse(Refusal::RxBuffer, g.addr);
            out.length = 0;
            out.errors = kRxErrRxe;
        }
        if (last) out.status |= kRxEop;
        // The buffer before the status, as the device orders its own writes.
        __atomic_thread_fence(__ATOMIC_RELEASE);
        if (!env_->guest_write(Gpa{gd.raw + 8}, reinterpret_cast<u8 const*>(&out) + 8, 8)) refuse(Refusal::RxRing, gd.raw);
        rdh = next(rdh, count);
        done += chunk;
    }
    ++c_->rx_guest_frames;
    return true;
}

}  // namespace tv::nic
