// The e1000 mediator's register file and device takeover; TX and RX live in e1000_tx.cpp and
// e1000_rx.cpp.
#include <string.h>

#include "drivers/nic/e1000_mediator.hpp"

namespace tv::nic {

using namespace e1000;

namespace {

constexpr u32 kCtrlSlu = 1u << 6, kCtrlAsde = 1u << 5;
constexpr u32 kTipgDefault = 10u | 8u << 10 | 6u << 20;  // the IEEE 802.3 gaps the SDM gives for copper
constexpr u32 kResetPolls = 100000;

}  // namespace

char const* refusal_name(Refusal r) {
    switch (r) {
        case Refusal::TxBuffer: return "tx-buffer";
        case Refusal::TxDescType: return "tx-desc-type";
        case Refusal::TxLongPacket: return "tx-long-packet";
        case Refusal::TxOpenPacket: return "tx-open-packet";
        case Refusal::TxRing: return "tx-ring";
        case Refusal::RxRing: return "rx-ring";
        case Refusal::RxBuffer: return "rx-buffer";
        case Refusal::BadIndex: return "bad-index";
        case Refusal::Alias: return "ring-alias";
        case Refusal::Count: break;
    }
    return "?";
}

void E1000Mediator::init(NicEnv* env, DmaMem mem, MacAddr mac) {
    env_ = env;
    mem_ = mem;
    mac_ = mac;
    txr_ = reinterpret_cast<TxDesc*>(mem.virt + kTxRingOff);
    rxr_ = reinterpret_cast<RxDesc*>(mem.virt + kRxRingOff);
    env_->dev_write(off(Reg::Imc), 0xFFFFFFFF);
    env_->dev_write(off(Reg::Ctrl), env_->dev_read(off(Reg::Ctrl)) | kCtrlRst);
    takeover();
    // Before any driver: link up with speed detection, and standard gaps (a driver sets its own).
    env_->dev_write(off(Reg::Ctrl), env_->dev_read(off(Reg::Ctrl)) | kCtrlSlu | kCtrlAsde);
    env_->dev_write(off(Reg::Tctl) + 0x10, kTipgDefault);  // TIPG, right after TCTL
}

// After a reset (the monitor's or the guest's): the guest's view becomes the reset device's,
// and the device gets the monitor's rings, MAC and enables back.
void E1000Mediator::takeover() {
    for (u32 i = 0; i < kResetPolls && (env_->dev_read(off(Reg::Ctrl)) & kCtrlRst); ++i) {
    }
    g_rctl_ = env_->dev_read(off(Reg::Rctl));
    g_tctl_ = env_->dev_read(off(Reg::Tctl));
    g_ral15_ = env_->dev_read(ral(kMonitorRar));
    g_rah15_ = env_->dev_read(rah(kMonitorRar));
    g_rdbal_ = g_rdbah_ = g_rdlen_ = g_rdh_ = g_rdt_ = 0;
    g_tdbal_ = g_tdbah_ = g_tdlen_ = g_tdh_ = g_tdt_ = g_tdnext_ = 0;

    // The monitor's frames still in the ring may not have gone out: queued again (at worst
    // sent twice, which Ethernet allows).
    for (u32 i = tx_head_; i != tx_tail_; i = i + 1 == kTxSlots ? 0 : i + 1) {
        TxSlot const& s = txs_[i];
        if (s.gdesc || !s.used || mon_fifo_count_ == kMonTxBufs) continue;
        mon_state_[s.mon_buf] = 1;
        mon_fifo_[(mon_fifo_head_ + mon_fifo_count_) % kMonTxBufs] = s.mon_buf;
        ++mon_fifo_count_;
    }
    for (auto& s : txs_) s = TxSlot{};
    memset(txr_, 0, sizeof(TxDesc) * kTxSlots);
    tx_head_ = tx_tail_ = tx_commit_ = tx_packet_descs_ = tx_open_syncs_ = 0;
    tx_in_packet_ = false;
    for (u32 i = 0; i < kRxSlots; ++i)
        rxr_[i] = RxDesc{mem_.dev + kRxBufOff + u64{i} * kRxBufBytes, 0, 0, 0, 0, 0};
    rx_next_ = 0;
    rx_discarding_ = false;

    u64 const txdev = mem_.dev + kTxRingOff, rxdev = mem_.dev + kRxRingOff;
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
    env_->dev_write(ral(kMonitorRar), static_cast<u32>(mac_.b[0] | mac_.b[1] << 8 | mac_.b[2] << 16 | mac_.b[3] << 24));
    env_->dev_write(rah(kMonitorRar), static_cast<u32>(mac_.b[4] | mac_.b[5] << 8) | kRahValid);
    write_real_rctl();
    env_->dev_write(off(Reg::Tctl), g_tctl_ | kTctlEn | kTctlPsp | kTctlCtDefault | kTctlColdFullDuplex);
    tx_flush_monitor();
    tx_commit();
}

// The guest's receive filters, with the monitor's needs on top: always enabled, broadcasts
// accepted, no MAC loopback (it would hand the monitor's frames back), the monitor's 2 KiB buffers (a guest's larger buffer size is honoured when
// copying; frames spread over several monitor buffers are dropped).
void E1000Mediator::write_real_rctl() {
    u32 const v = (g_rctl_ & ~(kRctlBsizeMask | kRctlBsex | kRctlLbmMask)) | kRctlEn | kRctlBam;
    env_->dev_write(off(Reg::Rctl), v);
}

bool E1000Mediator::owns(u32 o) {
    switch (static_cast<Reg>(o & ~3u)) {
        case Reg::Ctrl:
        case Reg::Icr:
        case Reg::Rctl:
        case Reg::Tctl:
        case Reg::Rdbal:
        case Reg::Rdbah:
        case Reg::Rdlen:
        case Reg::Rdh:
        case Reg::Rdt:
        case Reg::Tdbal:
        case Reg::Tdbah:
        case Reg::Tdlen:
        case Reg::Tdh:
        case Reg::Tdt: return true;
        default: break;
    }
    u32 const d = o & ~3u;
    return d == ral(kMonitorRar) || d == rah(kMonitorRar) || is_ring_alias(d);
}

u32 E1000Mediator::peek32(u32 o) const {
    switch (static_cast<Reg>(o)) {
        case Reg::Rctl: return g_rctl_;
        case Reg::Tctl: return g_tctl_;
        case Reg::Rdbal: return g_rdbal_;
        case Reg::Rdbah: return g_rdbah_;
        case Reg::Rdlen: return g_rdlen_;
        case Reg::Rdh: return g_rdh_;
        case Reg::Rdt: return g_rdt_;
        case Reg::Tdbal: return g_tdbal_;
        case Reg::Tdbah: return g_tdbah_;
        case Reg::Tdlen: return g_tdlen_;
        case Reg::Tdh: return g_tdh_;
        case Reg::Tdt: return g_tdt_;
        case Reg::Ctrl: return env_->dev_read(o);
        default: break;
    }
    if (o == ral(kMonitorRar)) return g_ral15_;
    if (o == rah(kMonitorRar)) return g_rah15_;
    return 0;  // ICR (never peeked: read-to-clear) and the refused aliases
}

u32 E1000Mediator::read32(u32 o) {
    if (is_ring_alias(o)) {
        refuse(Refusal::Alias, o);
        return 0;
    }
    switch (static_cast<Reg>(o)) {
        case Reg::Icr: {
            u32 const icr = env_->dev_read(o);
            sync(true);
            return icr;
        }
        case Reg::Rdh:
        case Reg::Tdh: sync(false); break;
        default: break;
    }
    return peek32(o);
}

void E1000Mediator::write32(u32 o, u32 v) {
    if (is_ring_alias(o)) {
        refuse(Refusal::Alias, o);
        return;
    }
    switch (static_cast<Reg>(o)) {
        case Reg::Ctrl:
            if (v & kCtrlRst) sync(false);  // what the device has done so far survives the reset
            env_->dev_write(o, v);
            if (v & kCtrlRst) {
                ++c_.resets;
                env_->guest_reset();
                takeover();
            }
            return;
        case Reg::Icr: env_->dev_write(o, v); return;  // write-1-to-clear, the guest's business
        case Reg::Rctl:
            g_rctl_ = v;
            write_real_rctl();
            return;
        case Reg::Tctl:
            g_tctl_ = v;
            env_->dev_write(o, v | kTctlEn);
            sync(false);
            return;
        case Reg::Rdbal: g_rdbal_ = v; return;
        case Reg::Rdbah: g_rdbah_ = v; return;
        case Reg::Rdlen: g_rdlen_ = v; return;
        case Reg::Rdh:
            if (g_rdlen_ && v >= g_rdlen_ / kDescSize) return refuse(Refusal::BadIndex, v);
            g_rdh_ = v;
            return;
        case Reg::Rdt:
            if (g_rdlen_ && v >= g_rdlen_ / kDescSize) return refuse(Refusal::BadIndex, v);
            g_rdt_ = v;
            sync(false);
            return;
        case Reg::Tdbal: g_tdbal_ = v; return;
        case Reg::Tdbah: g_tdbah_ = v; return;
        case Reg::Tdlen: g_tdlen_ = v; return;
        case Reg::Tdh:
            if (g_tdlen_ && v >= g_tdlen_ / kDescSize) return refuse(Refusal::BadIndex, v);
            g_tdh_ = g_tdnext_ = v;
            return;
        case Reg::Tdt:
            if (g_tdlen_ && v >= g_tdlen_ / kDescSize) return refuse(Refusal::BadIndex, v);
            g_tdt_ = v;
            sync(false);
            return;
        default: break;
    }
    if (o == ral(kMonitorRar)) g_ral15_ = v;
    else if (o == rah(kMonitorRar)) g_rah15_ = v;
}

// Registers are dwords; narrower accesses merge with the guest's view, a qword is two dwords.
u64 E1000Mediator::read_sized(u32 o, u8 size) {
    if (size == 8) return read32(o & ~3u) | u64{read32((o & ~3u) + 4)} << 32;
    u32 const shift = (o & 3) * 8;
    u32 const v = read32(o & ~3u) >> shift;
    return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

void E1000Mediator::write_sized(u32 o, u8 size, u64 value) {
    u32 const d = o & ~3u;
    if (size == 8) {
        write32(d, static_cast<u32>(value));
        write32(d + 4, static_cast<u32>(value >> 32));
        return;
    }
    if (size >= 4) return write32(d, static_cast<u32>(value));
    u32 const shift = (o & 3) * 8, mask = ((1u << (size * 8)) - 1) << shift;
    u32 const old = static_cast<Reg>(d) == Reg::Icr ? 0 : peek32(d);
    write32(d, (old & ~mask) | ((static_cast<u32>(value) << shift) & mask));
}

bool E1000Mediator::ring_ok(u32 lo, u32 hi, u32 len, Refusal why) {
    u64 const base = u64{hi} << 32 | lo;
    if (len == 0 || len % kRingAlign != 0 || base % kDescSize != 0 || !env_->guest_ok(base, len)) {
        refuse(why, base);
        return false;
    }
    return true;
}

void E1000Mediator::refuse(Refusal r, u64 detail) {
    u64 const n = ++c_.refused[static_cast<u32>(r)];
    if (n <= kLogPerReason) env_->refused(refusal_name(r), detail);
}

void E1000Mediator::sync(bool at_icr_read) {
    if (in_sync_) return;  // a monitor receiver sending from inside the RX pass
    in_sync_ = true;
    tx_reap();
    tx_fill();
    rx_sync(at_icr_read);
    in_sync_ = false;
}

void E1000Mediator::poll() { sync(false); }

bool E1000Mediator::link_up() const { return env_ && (env_->dev_read(off(Reg::Status)) & kStatusLu); }

}  // namespace tv::nic
