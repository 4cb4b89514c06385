// The e1000 mediator's transmit side: guest descriptors copied once into the shadow ring and
// checked there, completions written back to the guest, the monitor's frames between packets.
#include <string.h>

#include "drivers/nic/e1000_mediator.hpp"

namespace tv::nic {

using namespace e1000;

namespace {
constexpr u32 next(u32 i, u32 n) { return i + 1 == n ? 0 : i + 1; }
}  // namespace

// The device's TDH says how far it has gone; everything before it is done.
void E1000Mediator::tx_reap() {
    u32 const hw = env_->dev_read(off(Reg::Tdh));
    if (hw >= kTxSlots) return;  // device unreachable (decoding off while the guest sizes the BAR)
    while (tx_head_ != hw && tx_head_ != tx_commit_) {
        TxSlot& s = txs_[tx_head_];
        if (s.gdesc) {
            if (s.guest_rs) {
                u8 const dd = kTxStatDd;
                if (!env_->guest_write(s.gdesc + 12, &dd, 1)) refuse(Refusal::TxRing, s.gdesc);
            }
            g_tdh_ = s.gnext;
        } else if (s.used) {
            mon_state_[s.mon_buf] = 0;
        }
        s = TxSlot{};
        tx_head_ = next(tx_head_, kTxSlots);
    }
}

void E1000Mediator::tx_fill() {
    if ((g_tctl_ & kTctlEn) && g_tdnext_ != g_tdt_ && ring_ok(g_tdbal_, g_tdbah_, g_tdlen_, Refusal::TxRing)) {
        u64 const base = u64{g_tdbah_} << 32 | g_tdbal_;
        u32 const count = g_tdlen_ / kDescSize;
        if (g_tdnext_ >= count || g_tdt_ >= count) {
            refuse(Refusal::BadIndex, g_tdt_);
            g_tdnext_ = g_tdt_ = 0;
        }
        while (g_tdnext_ != g_tdt_ && next(tx_tail_, kTxSlots) != tx_head_) {
            u32 const gnext = next(g_tdnext_, count);
            tx_copy_one(base + u64{g_tdnext_} * kDescSize, gnext);
            g_tdnext_ = gnext;
            tx_open_syncs_ = 0;
        }
    }
    if (tx_in_packet_ && mon_fifo_count_ && ++tx_open_syncs_ >= kMaxOpenSyncs) tx_close_open_packet();
    tx_flush_monitor();
    tx_commit();
}

// One guest descriptor: read once, then only the copy is looked at and handed to the device.
void E1000Mediator::tx_copy_one(u64 gdesc_gpa, u32 gnext) {
    TxDesc d{};
    if (!env_->guest_read(gdesc_gpa, &d, sizeof d)) {
        refuse(Refusal::TxRing, gdesc_gpa);
        d = TxDesc{};  // an empty legacy descriptor: consumes the slot, sends nothing
    }
    u8 cmd = tx_cmd(d);
    bool const ext = cmd & kTxCmdDext;
    bool const context = ext && tx_dtyp(d) == kTxDtypContext;
    if (!context) {
        if (ext && tx_dtyp(d) != kTxDtypData) {
            refuse(Refusal::TxDescType, d.lower);
            d.lower = (d.lower & ~(0xFu << 20)) | kTxDtypData << 20;
            d.addr = 0;  // fails the check below
        }
        u32 len = ext ? d.lower & 0xFFFFF : d.lower & 0xFFFF;
        if (len && !env_->guest_ok(d.addr, len)) {
            if (tx_dtyp(d) == kTxDtypData || !ext) refuse(Refusal::TxBuffer, d.addr);
            d.addr = mem_.dev + kZeroOff;
            if (len > kZeroBytes) len = kZeroBytes;
            d.lower = (d.lower & (ext ? ~0xFFFFFu : ~0xFFFFu)) | len;
        }
        if (++tx_packet_descs_ >= kMaxPacketDescs && !(cmd & kTxCmdEop)) {
            refuse(Refusal::TxLongPacket, gdesc_gpa);
            cmd |= kTxCmdEop;
            d.lower |= u32{kTxCmdEop} << 24;
        }
    }
    u8 const rs = cmd & (kTxCmdRs | kTxCmdRps);
    d.status = 0;
    txr_[tx_tail_] = d;
    txs_[tx_tail_] = TxSlot{gdesc_gpa, gnext, 0, rs ? u8{1} : u8{0}, 1};
    tx_tail_ = next(tx_tail_, kTxSlots);
    ++c_.tx_guest_descs;
    if (context) {
        tx_in_packet_ = true;
    } else if (cmd & kTxCmdEop) {
        tx_in_packet_ = false;
        tx_packet_descs_ = 0;
        ++c_.tx_guest_packets;
    } else {
        tx_in_packet_ = true;
    }
}

// A guest that leaves a packet open (TDT before its EOP) would hold the monitor's frames back
// for ever: after a few syncs without progress its packet is ended where it stands.
void E1000Mediator::tx_close_open_packet() {
    for (u32 i = tx_tail_; i != tx_commit_;) {
        i = i == 0 ? kTxSlots - 1 : i - 1;
        TxDesc& d = txr_[i];
        if ((tx_cmd(d) & kTxCmdDext) && tx_dtyp(d) == kTxDtypContext) continue;
        d.lower |= u32{kTxCmdEop} << 24;
        break;
    }
    refuse(Refusal::TxOpenPacket, g_tdt_);
    tx_in_packet_ = false;
    tx_packet_descs_ = 0;
    tx_open_syncs_ = 0;
}

// The monitor's waiting frames, each one legacy descriptor, only where no guest packet is open.
void E1000Mediator::tx_flush_monitor() {
    while (mon_fifo_count_ && !tx_in_packet_ && next(tx_tail_, kTxSlots) != tx_head_) {
        u16 const b = mon_fifo_[mon_fifo_head_];
        mon_fifo_head_ = next(mon_fifo_head_, kMonTxBufs);
        --mon_fifo_count_;
        u64 const addr = mem_.dev + kMonTxOff + u64{b} * kMonTxBufBytes;
        u32 const cmd = kTxCmdEop | kTxCmdIfcs | kTxCmdRs;
        txr_[tx_tail_] = TxDesc{addr, mon_len_[b] | cmd << 24, 0, 0, 0};
        txs_[tx_tail_] = TxSlot{0, 0, b, 0, 1};
        mon_state_[b] = 2;
        tx_tail_ = next(tx_tail_, kTxSlots);
        ++c_.tx_monitor_frames;
    }
}

// The device's TDT moves only to a packet boundary.
void E1000Mediator::tx_commit() {
    if (tx_in_packet_) {
        // Commit up to the last EOP: walk back from the tail over the open packet.
        u32 i = tx_tail_;
        while (i != tx_commit_) {
            u32 const prev = i == 0 ? kTxSlots - 1 : i - 1;
            TxDesc const& d = txr_[prev];
            bool const ctx = (tx_cmd(d) & kTxCmdDext) && tx_dtyp(d) == kTxDtypContext;
            if (!ctx && (tx_cmd(d) & kTxCmdEop)) break;
            i = prev;
        }
        if (i == tx_commit_) return;
        tx_commit_ = i;
    } else {
        if (tx_commit_ == tx_tail_) return;
        tx_commit_ = tx_tail_;
    }
    __atomic_thread_fence(__ATOMIC_RELEASE);  // descriptors in memory before the doorbell
    env_->dev_write(off(Reg::Tdt), tx_commit_);
}

Status E1000Mediator::send(u8 const* frame, size_t len) {
    if (!env_ || len < 14 || len > mtu() + 14u) return Status::Invalid;
    u32 b = 0;
    while (b < kMonTxBufs && mon_state_[b] != 0) ++b;
    if (b == kMonTxBufs) {
        // Reaping alone is safe from inside a receiver (a reply sent while the RX pass runs).
        tx_reap();
        for (b = 0; b < kMonTxBufs && mon_state_[b] != 0;) ++b;
        if (b == kMonTxBufs) {
            ++c_.tx_monitor_full;
            return Status::NoMemory;
        }
    }
    u8* const buf = mem_.virt + kMonTxOff + u64{b} * kMonTxBufBytes;
    memcpy(buf, frame, len);
    u32 const padded = len < 60 ? 60 : static_cast<u32>(len);
    if (padded > len) memset(buf + len, 0, padded - len);
    mon_len_[b] = static_cast<u16>(padded);
    mon_state_[b] = 1;
    mon_fifo_[(mon_fifo_head_ + mon_fifo_count_) % kMonTxBufs] = static_cast<u16>(b);
    ++mon_fifo_count_;
    tx_flush_monitor();
    tx_commit();
    return Status::Ok;
}

}  // namespace tv::nic
