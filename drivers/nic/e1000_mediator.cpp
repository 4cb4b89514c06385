// The e1000 mediator's register file, device takeover, and the meeting point of its device
// side (e1000_device_rings.cpp) and guest side (e1000_guest_rings.cpp) with the frame switch.
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
        case Refusal::TxCopy: return "tx-copy";
        case Refusal::TxTso: return "tx-tso";
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
    mac_ = mac;
    dev_.init(env, mem, &c_);
    sw_.init(&policy_, this, this, mac);
    policy_.set_monitor_mac(mac);
    g_.init(env, &c_, &dev_, &sw_, Hpa{mem.dev.raw + kZeroOff});
    env_->dev_write(off(Reg::Imc), 0xFFFFFFFF);
    env_->dev_write(off(Reg::Ctrl), env_->dev_read(off(Reg::Ctrl)) | kCtrlRst);
    takeover();
    // Before any driver: link up with speed detection, and standard gaps (a driver sets its own).
    env_->dev_write(off(Reg::Ctrl), env_->dev_read(off(Reg::Ctrl)) | kCtrlSlu | kCtrlAsde);
    env_->dev_write(off(Reg::Tctl) + 0x10, kTipgDefault);  // TIPG, right after TCTL
}

void E1000Mediator::set_policy(sw::ForwardingPolicy* p) {
    NicEnvLock guard(env_);
    sync(false);  // what the old policy accepted is finished under it
    sw_.set_policy(p ? p : &policy_);
}

// After a reset (the monitor's or the guest's): the guest's view becomes the reset device's,
// and the device gets the monitor's rings, MAC and enables back.
void E1000Mediator::takeover() {
    for (u32 i = 0; i < kResetPolls && (env_->dev_read(off(Reg::Ctrl)) & kCtrlRst); ++i) {
    }
    g_.reset();
    g_.rctl = env_->dev_read(off(Reg::Rctl));
    g_.tctl = env_->dev_read(off(Reg::Tctl));
    g_.ral15 = env_->dev_read(ral(kMonitorRar));
    g_.rah15 = env_->dev_read(rah(kMonitorRar));
    dev_.takeover(mac_, g_.tctl);
    g_.soft_unicast_filter = !(env_->dev_read(rah(kMonitorRar)) & kRahValid);
    write_real_rctl();
    dev_.flush_frames();
    dev_.commit();
}

// The guest's receive filters, with the monitor's needs on top: always enabled, broadcasts
// accepted, no MAC loopback (it would hand the monitor's frames back), the monitor's 2 KiB buffers (a guest's larger buffer size is honoured when
// copying; frames spread over several monitor buffers are dropped), and unicast-promiscuous on
// a device without RAR[15].
void E1000Mediator::write_real_rctl() {
    u32 v = (g_.rctl & ~(kRctlBsizeMask | kRctlBsex | kRctlLbmMask)) | kRctlEn | kRctlBam;
    if (g_.soft_unicast_filter) v |= kRctlUpe;
    env_->dev_write(off(Reg::Rctl), v);
}

bool E1000Mediator::owns(u32 o) {
    switch (static_cast<Reg>(o & ~3u)) {
        case Reg::Ctrl:
        case Reg::Icr:
        case Reg::Imc:
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
        case Reg::Rctl: return g_.rctl;
        case Reg::Tctl: return g_.tctl;
        case Reg::Rdbal: return g_.rdbal;
        case Reg::Rdbah: return g_.rdbah;
        case Reg::Rdlen: return g_.rdlen;
        case Reg::Rdh: return g_.rdh;
        case Reg::Rdt: return g_.rdt;
        case Reg::Tdbal: return g_.tdbal;
        case Reg::Tdbah: return g_.tdbah;
        case Reg::Tdlen: return g_.tdlen;
        case Reg::Tdh: return g_.tdh;
        case Reg::Tdt: return g_.tdt;
        case Reg::Ctrl: return env_->dev_read(o);
        default: break;
    }
    if (o == ral(kMonitorRar)) return g_.ral15;
    if (o == rah(kMonitorRar)) return g_.rah15;
    return 0;  // ICR (never peeked: read-to-clear), IMC (write-only) and the refused aliases
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
        case Reg::Imc:
            // ICR reads go to the device without an exit (docs/nic.md): Linux masks right after
            // reading ICR and before its poll looks, so this is where the ring catches up.
            env_->dev_write(o, v);
            sync(true);
            return;
        case Reg::Rctl:
            g_.rctl = v;
            write_real_rctl();
            return;
        case Reg::Tctl:
            g_.tctl = v;
            env_->dev_write(o, v | kTctlEn);
            sync(false);
            return;
        case Reg::Rdbal: g_.rdbal = v; return;
        case Reg::Rdbah: g_.rdbah = v; return;
        case Reg::Rdlen: g_.rdlen = v; return;
        case Reg::Rdh:
            if (g_.rdlen && v >= g_.rdlen / kDescSize) return refuse(Refusal::BadIndex, v);
            g_.rdh = v;
            return;
        case Reg::Rdt:
            if (g_.rdlen && v >= g_.rdlen / kDescSize) return refuse(Refusal::BadIndex, v);
            g_.rdt = v;
            sync(false);
            return;
        case Reg::Tdbal: g_.tdbal = v; return;
        case Reg::Tdbah: g_.tdbah = v; return;
        case Reg::Tdlen: g_.tdlen = v; return;
        case Reg::Tdh:
            if (g_.tdlen && v >= g_.tdlen / kDescSize) return refuse(Refusal::BadIndex, v);
            g_.tdh = g_.tdnext = v;
            return;
        case Reg::Tdt:
            if (g_.tdlen && v >= g_.tdlen / kDescSize) return refuse(Refusal::BadIndex, v);
            g_.tdt = v;
            sync(false);
            return;
        default: break;
    }
    if (o == ral(kMonitorRar)) g_.ral15 = v;
    else if (o == rah(kMonitorRar)) g_.rah15 = v;
}

// Registers are dwords; narrower accesses merge with the guest's view, a qword is two dwords.
u64 E1000Mediator::read_sized(u32 o, u8 size) {
    NicEnvLock guard(env_);
    if (size == 8) return read32(o & ~3u) | u64{read32((o & ~3u) + 4)} << 32;
    u32 const shift = (o & 3) * 8;
    u32 const v = read32(o & ~3u) >> shift;
    return size >= 4 ? v : v & ((1u << (size * 8)) - 1);
}

void E1000Mediator::write_sized(u32 o, u8 size, u64 value) {
    NicEnvLock guard(env_);
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

void E1000Mediator::refuse(Refusal r, u64 detail) {
    u64 const n = ++c_.refused[static_cast<u32>(r)];
    if (n <= kLogPerReason) env_->refused(refusal_name(r), detail);
}

void E1000Mediator::on_tx_done(void* ctx, TxSlot const& s) { static_cast<E1000Mediator*>(ctx)->g_.tx_done(s); }

void E1000Mediator::on_rx(void* ctx, u8 const* buf, u32 len, RxDesc const& hw) {
    auto& m = *static_cast<E1000Mediator*>(ctx);
    if (len < 14) return;
    u32 const fcs = (m.g_.rctl & kRctlSecrc) ? 0 : 4;  // the device keeps the CRC unless told
    u32 const frame_len = len >= 14 + fcs ? len - fcs : len;
    WireMeta const meta{hw, len - frame_len};
    m.sw_.from_wire(sw::Frame{buf, frame_len}, &meta);
}

void E1000Mediator::sync(bool at_icr_read) {
    if (in_sync_) return;  // a monitor receiver sending from inside the RX pass
    in_sync_ = true;
    u64 const guest_before = c_.rx_guest_frames;
    u32 const completed_before = g_.completed_;
    dev_.reap(on_tx_done, this);
    g_.fetch_tx();
    dev_.flush_frames();
    dev_.commit();
    dev_.receive(on_rx, this);
    in_sync_ = false;
    // Outside an interrupt the guest may not look at its rings soon: make the device tell it.
    if (at_icr_read) return;
    u32 ics = 0;
    if (c_.rx_guest_frames != guest_before) ics |= kIcrRxt0;
    if (g_.completed_ != completed_before) ics |= kIcrTxdw;  // copy-out: completed without the device
    if (ics) env_->dev_write(off(Reg::Ics), ics);
}

void E1000Mediator::poll() {
    NicEnvLock guard(env_);
    sync(false);
}

bool E1000Mediator::link_up() const { return env_ && (env_->dev_read(off(Reg::Status)) & kStatusLu); }

Status E1000Mediator::transmit(sw::Frame f) {
    if (!env_ || f.len < 14 || f.len > mtu() + 14u) return Status::Invalid;
    NicEnvLock guard(env_);
    Status s = dev_.queue_frame(f.data, f.len);
    if (s == Status::NoMemory) {
        // Reaping alone is safe from inside a receiver (a reply sent while the RX pass runs).
        dev_.reap(on_tx_done, this);
        s = dev_.queue_frame(f.data, f.len);
    }
    if (!ok(s)) {
        ++c_.tx_monitor_full;
        return s;
    }
    dev_.flush_frames();
    dev_.commit();
    return Status::Ok;
}

bool E1000Mediator::receive(sw::Frame f, void const* meta) {
    NicEnvLock guard(env_);
    bool const taken = g_.receive(f, meta);
    // A frame the monitor put in the guest's ring outside a sync: tell the guest now.
    if (taken && !in_sync_) env_->dev_write(off(Reg::Ics), kIcrRxt0);
    return taken;
}

}  // namespace tv::nic
