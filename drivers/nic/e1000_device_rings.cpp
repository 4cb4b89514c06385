// The e1000 mediator's device side: the rings and buffers the device works on, all in
// monitor memory. The TDT the device sees only ever points after a packet's end, and frames
// from monitor buffers go in there, between the guest's packets.
#include <string.h>

#include "drivers/nic/e1000_mediator.hpp"

namespace tv::nic {

using namespace e1000;

namespace {
constexpr u32 next(u32 i, u32 n) { return i + 1 == n ? 0 : i + 1; }
constexpr u32 prev(u32 i, u32 n) { return i == 0 ? n - 1 : i - 1; }
constexpr bool is_context(TxDesc const& d) { return (tx_cmd(d) & kTxCmdDext) && tx_dtyp(d) == kTxDtypContext; }
}  // namespace

void E1000DeviceRings::init(NicEnv* env, DmaMem mem, NicCounters* c) {
    env_ = env;
    mem_ = mem;
    c_ = c;
    txr_ = reinterpret_cast<TxDesc*>(mem.virt + kTxRingOff);
    rxr_ = reinterpret_cast<RxDesc*>(mem.virt + kRxRingOff);
}

void E1000DeviceRings::takeover(MacAddr mac, u32 tctl) {
    // The monitor's frames still in the ring may not have gone out: queued again (at worst
    // sent twice, which Ethernet allows).
    for (u32 i = tx_head_; i != tx_tail_; i = next(i, kTxSlots)) {
        TxSlot const& s = txs_[i];
        if (s.gdesc.raw || !s.used || mon_fifo_count_ == kMonTxBufs) continue;
        mon_state_[s.mon_buf] = 1;
        mon_fifo_[(mon_fifo_head_ + mon_fifo_count_) % kMonTxBufs] = s.mon_buf;
        ++mon_fifo_count_;
    }
    for (auto& s : txs_) s = TxSlot{};
    memset(txr_, 0, sizeof(TxDesc) * kTxSlots);
    tx_head_ = tx_tail_ = tx_commit_ = packet_descs_ = 0;
    in_packet_ = false;
    for (u32 i = 0; i < kRxSlots; ++i) rxr_[i] = RxDesc{mem_.dev.raw + kRxBufOff + u64{i} * kRxBufBytes, 0, 0, 0, 0, 0};
    rx_next_ = 0;
    rx_discarding_ = false;

    u64 const txdev = mem_.dev.raw + kTxRingOff, rxdev = mem_.dev.raw + kRxRingOff;
    env_->dev_write(off(Reg::Tdbal), static_cast<u32>(txdev));
    env_->dev_write(off(Reg::Tdbah), static_cast<u32>(txdev >> 32));
    env_->dev_write(off(Reg::Tdlen), kTxSlots * kDescSize);
    env_->dev_write(off(Reg::Tdh), 0);
    env_->dev_write(off(Reg::Tdt), 0);
    env_->dev_write(off(Reg::Rdbal), static_cast<u32>(rxdev));
    env_->dev_write(off(Reg::Rdbah), static_cast<u32>(rxdev >> 32));
    env_->dev_write(off(Reg::Rdlen), kRxSlots * kDescSize);
    env_->dev_write(off(Reg::Rdh), 0);
    env_->dev_write(off(Reg::Rdt), kRxSlots - 1);
    env_->dev_write(ral(kMonitorRar), static_cast<u32>(mac.b[0] | mac.b[1] << 8 | mac.b[2] << 16 | mac.b[3] << 24));
    env_->dev_write(rah(kMonitorRar), static_cast<u32>(mac.b[4] | mac.b[5] << 8) | kRahValid);
    env_->dev_write(off(Reg::Tctl), tctl | kTctlEn | kTctlPsp | kTctlCtDefault | kTctlColdFullDuplex);
}

bool E1000DeviceRings::full() const { return next(tx_tail_, kTxSlots) == tx_head_; }

void E1000DeviceRings::push_guest(TxDesc const& d, Gpa gdesc, u32 gnext, bool rs, bool ends_packet, bool context) {
    txr_[tx_tail_] = d;
    txr_[tx_tail_].status = 0;
    txs_[tx_tail_] = TxSlot{gdesc, gnext, 0, rs ? u8{1} : u8{0}, 1};
    tx_tail_ = next(tx_tail_, kTxSlots);
    if (context) {
        in_packet_ = true;
    } else if (ends_packet) {
        in_packet_ = false;
        packet_descs_ = 0;
    } else {
        in_packet_ = true;
        ++packet_descs_;
    }
}

// A guest that leaves a packet open (TDT before its EOP) would hold the monitor's frames back
// for ever: after a few syncs without progress its packet is ended where it stands.
void E1000DeviceRings::close_open_packet() {
    for (u32 i = tx_tail_; i != tx_commit_;) {
        i = prev(i, kTxSlots);
        TxDesc& d = txr_[i];
        if (is_context(d)) continue;
        d.lower |= u32{kTxCmdEop} << 24;
        break;
    }
    in_packet_ = false;
    packet_descs_ = 0;
}

Status E1000DeviceRings::queue_frame(u8 const* frame, size_t len) {
    u32 b = 0;
    while (b < kMonTxBufs && mon_state_[b] != 0) ++b;
    if (b == kMonTxBufs) return Status::NoMemory;
    u8* const buf = mem_.virt + kMonTxOff + u64{b} * kMonTxBufBytes;
    memcpy(buf, frame, len);
    u32 const padded = len < 60 ? 60 : static_cast<u32>(len);
    if (padded > len) memset(buf + len, 0, padded - len);
    mon_len_[b] = static_cast<u16>(padded);
    mon_state_[b] = 1;
    mon_fifo_[(mon_fifo_head_ + mon_fifo_count_) % kMonTxBufs] = static_cast<u16>(b);
    ++mon_fifo_count_;
    return Status::Ok;
}

// The device's TDH says how far it has gone; everything before it is done.
void E1000DeviceRings::reap(GuestDone done, void* ctx) {
    u32 const hw = env_->dev_read(off(Reg::Tdh));
    if (hw >= kTxSlots) return;  // device unreachable (decoding off while the guest sizes the BAR)
    while (tx_head_ != hw && tx_head_ != tx_commit_) {
        TxSlot& s = txs_[tx_head_];
        if (s.gdesc.raw) done(ctx, s);
        else if (s.used) mon_state_[s.mon_buf] = 0;
        s = TxSlot{};
        tx_head_ = next(tx_head_, kTxSlots);
    }
}

void E1000DeviceRings::flush_frames() {
    while (mon_fifo_count_ && !in_packet_ && !full()) {
        u16 const b = mon_fifo_[mon_fifo_head_];
        mon_fifo_head_ = next(mon_fifo_head_, kMonTxBufs);
        --mon_fifo_count_;
        u64 const addr = mem_.dev.raw + kMonTxOff + u64{b} * kMonTxBufBytes;
        u32 const cmd = kTxCmdEop | kTxCmdIfcs | kTxCmdRs;
        txr_[tx_tail_] = TxDesc{addr, mon_len_[b] | cmd << 24, 0, 0, 0};
        txs_[tx_tail_] = TxSlot{Gpa{0}, 0, b, 0, 1};
        mon_state_[b] = 2;
        tx_tail_ = next(tx_tail_, kTxSlots);
        ++c_->tx_monitor_frames;
    }
}

void E1000DeviceRings::commit() {
    if (in_packet_) {
        // Commit up to the last EOP: walk back from the tail over the open packet.
        u32 i = tx_tail_;
        while (i != tx_commit_) {
            TxDesc const& d = txr_[prev(i, kTxSlots)];
            if (!is_context(d) && (tx_cmd(d) & kTxCmdEop)) break;
            i = prev(i, kTxSlots);
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

void E1000DeviceRings::receive(RxFrame fn, void* ctx) {
    u32 last = kRxSlots;
    for (u32 n = 0; n < kRxSlots; ++n) {
        RxDesc& d = rxr_[rx_next_];
        u8 const status = __atomic_load_n(&d.status, __ATOMIC_ACQUIRE);
        if (!(status & kRxDd)) break;
        RxDesc const hw{d.addr, d.length, d.csum, status, d.errors, d.special};
        u8 const* buf = mem_.virt + kRxBufOff + u64{rx_next_} * kRxBufBytes;
        if (!(status & kRxEop) || rx_discarding_) {
            if (!rx_discarding_) ++c_->rx_multi_desc;
            rx_discarding_ = !(status & kRxEop);
        } else {
            fn(ctx, buf, hw.length > kRxBufBytes ? kRxBufBytes : hw.length, hw);
        }
        d = RxDesc{mem_.dev.raw + kRxBufOff + u64{rx_next_} * kRxBufBytes, 0, 0, 0, 0, 0};
        last = rx_next_;
        rx_next_ = next(rx_next_, kRxSlots);
    }
    if (last != kRxSlots) {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        env_->dev_write(off(Reg::Rdt), last);
    }
}

}  // namespace tv::nic
