// The monitor side of the AoE disk: the initiator on the NIC mediator's FramePort, the
// primary IDE channel's ports, the guest's IRQ 14, and the BIOS drive.
//
// Interrupts: no device raises IRQ 14 (QEMU's PIIX has no drive, and the guest must not see
// a real one): the disk's IrqLine (core/device/irq_line) follows the guest's IOAPIC entry for
// IRQ 14. With the entry masked (PIC mode) nothing is sent and drivers poll (SeaBIOS would;
// it never sees this disk, INT 13h is served by the monitor).
#include "drivers/aoe_disk/aoe_disk_install.hpp"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "aoe/initiator.hpp"
#include "core/boot_info.hpp"
#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/device/irq_line.hpp"
#include "core/handlers/bios_services.hpp"
#include "core/handlers/power.hpp"
#include "core/device/guest_memory.hpp"
#include "core/io_hooks.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/timer.hpp"
#include "drivers/aoe_disk/aoe_disk.hpp"
#include "drivers/aoe_disk/aoe_disk_int13.hpp"
#include "drivers/aoe_disk/aoe_disk_sealed.hpp"
#include "drivers/nic/frame_port.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "lib/spinlock.hpp"
#include "storage/key_table.hpp"

namespace tv::ata {

namespace {

constexpr u16 kCmdPorts = 0x1F0, kCtrlPort = 0x3F6;
constexpr u16 kAoeEthertype = 0x88A2;
constexpr u8 kBiosDrive = 0x80;
constexpr u32 kIrq = 14;

class Env final : public AoeDiskEnv {
  public:
    u32 port_in(u16, u8) override { return 0xFFFFFFFF; }  // no real device behind this disk
    void port_out(u16, u8, u32) override {}
    void port_in_words(u16, u16*, u32) override {}
    void port_out_words(u16, u16 const*, u32) override {}
    bool guest_ram(Gpa gpa, u64 bytes) override { return guest_memory().ok(gpa, bytes); }
    u8* guest_ptr(Gpa gpa) override { return guest_memory().ptr(gpa, 1); }
    void log(char const* fmt, ...) override {
        char line[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        tv::log("%s", line);
    }
    void raise_irq() override { (void)irq.raise(irq_controllers()); }

    IrqLine irq{IrqLine::ioapic(kIrq)};
};

// The initiator's frames go straight to the port. It never sends from inside the port's
// receive pass (received frames wait in the Inbox below), so a full port means the NIC
// really has all of the monitor's TX buffers in flight: the frame fails and the initiator
// retransmits it, as it would after a loss on the wire.
class PortTx final : public aoe::FrameTx {
  public:
    Status send(u8 const* frame, size_t len) override { return port->send(frame, len); }
    nic::FramePort* port{nullptr};
};

// Received AoE frames wait here until the disk's own loop hands them to the initiator. A
// FramePort delivers from whichever CPU syncs the NIC (the guest's e1000 accesses, the
// network tick), while the initiator belongs to the CPU running the guest's disk command
// under the disk's device lock; the initiator is only ever touched there.
class Inbox {
  public:
    // One NIC poll may hand over a whole receive ring's worth (a hostile peer floods it):
    // what does not fit is dropped and counted, and the initiator retransmits.
    static constexpr u32 kSlots = 128;

    void push(u8 const* frame, size_t len) {
        LockGuard guard(lock_);
        if (count_ == kSlots || len > sizeof queue_[0].bytes) {
            ++dropped;
            return;
        }
        Frame& f = queue_[(head_ + count_) % kSlots];
        memcpy(f.bytes, frame, len);
        f.len = static_cast<u16>(len);
        ++count_;
    }
    // Hands every waiting frame to the initiator, oldest first, without holding the lock
    // while it runs (it may transmit). False when there was none.
    bool drain(aoe::Initiator& ini) {
        for (bool any = false;; any = true) {
            {
                LockGuard guard(lock_);
                if (count_ == 0) return any;
                scratch_ = queue_[head_];
                head_ = (head_ + 1) % kSlots;
                --count_;
            }
            ini.on_frame(scratch_.bytes, scratch_.len);
        }
    }

    u64 dropped{0};

  private:
    struct Frame {
        u16 len;
        u8 bytes[aoe::Initiator::kMaxFrame];
    };
    SpinLock lock_{};
    Frame queue_[kSlots]{};
    Frame scratch_{};  // only the draining CPU uses it
    u32 head_{0}, count_{0};
};

class MonClock final : public aoe::Clock {
  public:
    u64 now_us() override { return clock_us(); }
};

class PortPoller final : public DiskPoller {
  public:
    void poll() override;
    nic::FramePort* port{nullptr};
};

constinit aoe::Initiator g_ini;
constinit AoeBlock g_blk;
constinit Device g_device{"aoe-disk"};  // its ports and its INT 13h service: one lock
constinit SealedBlock g_sealed;  // g_blk through the storage pipeline: what the guest's disk reads and writes
constinit AoeDisk g_disk;
constinit Int13Disk g_int13;
constinit Env g_env;
constinit PortTx g_tx;
constinit Inbox g_inbox;
constinit MonClock g_clock;
constinit PortPoller g_poller;
constinit bool g_active = false;
constinit u32 g_ini_logs = 0;

// A poll that found nothing waits a little before the next: each poll reads the NIC's
// registers, and under an emulator (QEMU TCG) every such access takes the lock the emulator's
// I/O thread needs to put the target's replies into the receive ring, so polling flat out
// delayed the very replies it waited for (round trips of tens of milliseconds, and spurious
// retransmissions; issue 22, item 3). 20 us is nothing next to a round trip.
constexpr u64 kIdlePollGapUs = 20;

// A disk command waits for the target inside the exit that started it, up to [aoe] timeout_ms
// through an outage. The monitor clock's jobs (network tick, VPN timers) run here meanwhile,
// on the timer CPU, so that wait does not hold them off (core/timer.hpp: timer_run_due is safe
// under a device lock; its jobs never take the disk's).
void PortPoller::poll() {
    port->poll();
    timer_run_due();
    if (!g_inbox.drain(g_ini)) clock_delay_us(kIdlePollGapUs);
}

void on_frame(void*, u8 const* frame, size_t len) { g_inbox.push(frame, len); }

void on_log(void*, aoe::LogRecord const& r) {
    // Retransmissions and duplicate replies come in bursts under load or during an outage: the
    // first few are logged, then only counted (aoe_disk_log at power-off).
    bool const noisy = r.event == aoe::Event::Retransmit || r.event == aoe::Event::SendFailed;
    if (r.event == aoe::Event::Refused) {  // per cause (core/log_limit), like every mediator's refusals
        if (log_limit_allow("aoe-disk", aoe::refusal_name(r.refusal)))
            log("aoe-disk: refused a frame: %s (tag %#x)", aoe::refusal_name(r.refusal), r.tag);
        return;
    }
    if (noisy && g_ini_logs++ >= 32) return;
    log("aoe-disk: %s (%#llx)", aoe::event_name(r.event), static_cast<unsigned long long>(r.value));
}

IoAction port_hook(void* ctx, Vcpu&, IoExit const& io, u32* value) {
    auto const block = static_cast<IdeBlock>(reinterpret_cast<uintptr_t>(ctx) & 3);
    u16 const base = static_cast<u16>(reinterpret_cast<uintptr_t>(ctx) >> 16);
    g_disk.access(block, static_cast<u8>(io.port - base), io.in, io.size, value);
    return IoAction::Handled;
}

void* hook_ctx(IdeBlock b, u16 base) {
    return reinterpret_cast<void*>(static_cast<uintptr_t>(base) << 16 | static_cast<uintptr_t>(b));
}

// The BIOS route to the disk's state: under the same lock as its ports.
void int13(void*, BiosDiskRegs& r) {
    DeviceGuard guard(g_device);
    g_int13.call(r);
}

// Channel 0 of the first PIIX-style IDE function's bus master (BAR4), taken with that
// function's primary channel; 0 when there is none.
constinit u16 g_bus_master = 0;
constinit bool g_ide_seen = false;

Status claim_ports(u16 bm) {
    if (Status s = io_hook_register(g_device, kCmdPorts, 8, port_hook, hook_ctx(IdeBlock::Command, kCmdPorts), "aoe-cmd"); !ok(s))
        return s;
    if (Status s = io_hook_register(g_device, kCtrlPort, 1, port_hook, hook_ctx(IdeBlock::Control, kCtrlPort), "aoe-ctl"); !ok(s))
        return s;
    if (bm)
        if (Status s = io_hook_register(g_device, bm, 8, port_hook, hook_ctx(IdeBlock::BusMaster, bm), "aoe-bm"); !ok(s))
            return s;
    return Status::Ok;
}

}  // namespace

namespace {

constinit u32 g_mtu = 0;

// Finds the target; the disk is active only when it answered.
Status prepare(bool* active) {
    *active = false;
    Config const* cfg = config();
    if (!cfg || !cfg->network.present || !cfg->aoe.present) return Status::Ok;
    nic::FramePort* port = nic::monitor_port();
    if (!port) {
        log("aoe-disk: [aoe] configured but the monitor has no network: no AoE disk");
        return Status::Ok;
    }
    g_tx.port = port;
    g_poller.port = port;
    u32 const mtu = cfg->aoe.mtu < port->mtu() ? cfg->aoe.mtu : port->mtu();
    g_mtu = mtu;
    u64 const timeout_us = static_cast<u64>(cfg->aoe.timeout_ms) * 1000;
    aoe::Config ic{};
    nic::MacAddr const m = port->mac();
    for (int i = 0; i < 6; ++i) ic.local_mac.b[i] = m.b[i];
    ic.shelf = cfg->aoe.shelf;
    ic.slot = cfg->aoe.slot;
    ic.mtu = mtu;
    ic.deadline_us = timeout_us;
    if (Status s = g_ini.init(ic, g_tx, g_clock); !ok(s)) {
        log("aoe-disk: initiator refused its configuration (status %u)", static_cast<unsigned>(s));
        return s;
    }
    g_ini.set_log(on_log, nullptr);
    if (Status s = port->add_receiver(kAoeEthertype, on_frame, nullptr); !ok(s)) return s;
    g_blk.init(&g_ini, &g_clock, &g_poller, timeout_us);
    g_ini.start();
    if (!g_blk.wait_ready(timeout_us)) {
        log("aoe-disk: target e%u.%u did not answer within %u ms: no AoE disk", cfg->aoe.shelf, cfg->aoe.slot,
            cfg->aoe.timeout_ms);
        return Status::Ok;
    }
    aoe::Target const& t = g_ini.target();
    IdentifyParams idp{};
    idp.shelf = t.shelf;
    idp.slot = t.slot;
    for (int i = 0; i < 3; ++i) idp.mac_tail[i] = t.mac.b[3 + i];
    if (Status s = storage::load_boot_keys(); !ok(s)) return s;
    if (!g_sealed.init(&g_blk, aoe_disk_id(idp))) {
        log("aoe-disk: disk '%s' is refused by its [disk.*] entry (a key for another sector size): no AoE disk",
            g_sealed.volume().name());
        return Status::Ok;
    }
    log("aoe-disk: disk '%s': %s", g_sealed.volume().name(),
        g_sealed.volume().active() ? "encrypted (the target stores ciphertext)" : "not encrypted");
    g_disk.init(&g_env, &g_sealed, idp);
    *active = true;
    return Status::Ok;
}

bool matches(pci::Function const& f) { return f.class_code == 0x01 && f.subclass == 0x01; }

// The first IDE function's primary channel: the disk's ports are the legacy primary ones,
// and bus-master channel 0 belongs with them. A primary channel in native mode stays with
// the IDE mediator (its bus master too), and the AoE disk is then PIO only.
Status attach(pci::Function const& f, pci::PciClaim& claim) {
    if (g_ide_seen) return Status::Ok;
    g_ide_seen = true;
    pci::Bar const& bm = f.bars[4];
    if (f.prog_if & 1u) {
        log("aoe-disk: IDE function %02x:%02x.%u has its primary channel in native mode: PIO only", f.bdf.bus,
            f.bdf.dev, f.bdf.fn);
    } else if (!claim.take(pci::kIdePrimary)) {
        log("aoe-disk: the primary channel of %02x:%02x.%u is taken: PIO only", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    } else if (bm.kind == pci::BarKind::Io && bm.base) {
        g_bus_master = static_cast<u16>(bm.base);
    } else {
        log("aoe-disk: IDE function %02x:%02x.%u has no bus-master BAR: PIO only", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    }
    return Status::Ok;
}

Status finish() {
    Config const* cfg = config();
    aoe::Target const& t = g_ini.target();
    u32 const mtu = g_mtu;
    if (!g_ide_seen) log("aoe-disk: no IDE controller: the disk's ports are emulated without one, PIO only");
    u16 const bm = g_bus_master;
    if (Status s = claim_ports(bm); !ok(s)) return s;
    g_active = true;
    if (!power_off_log_register(aoe_disk_log)) log("aoe-disk: no room for the power-off log");
    log_limit_install();
    log("aoe-disk: e%u.%u at %02x:%02x:%02x:%02x:%02x:%02x, %llu sectors, %u sectors per frame (MTU %u), "
        "window %u, timeout %u ms: primary IDE master (ports %#x/%#x, bus master %#x)",
        t.shelf, t.slot, t.mac.b[0], t.mac.b[1], t.mac.b[2], t.mac.b[3], t.mac.b[4], t.mac.b[5],
        static_cast<unsigned long long>(g_ini.sectors()), g_ini.sectors_per_frame(), mtu, g_ini.window(),
        cfg->aoe.timeout_ms, kCmdPorts, kCtrlPort, bm);
    if (boot_info().firmware == Firmware::Bios) {
        g_int13.init(&g_env, &g_sealed, kBiosDrive, 1);
        if (Status s = bios_disk_install(kBiosDrive, int13, nullptr); !ok(s))
            log("aoe-disk: no BIOS drive (status %u)", static_cast<unsigned>(s));
    }
    return Status::Ok;
}

}  // namespace

constinit pci::PciDriver const kAoeDiskDriver{"aoe-disk", prepare, matches, attach, finish};

void aoe_disk_log() {
    if (!g_active) return;
    AoeDiskCounters const& c = g_disk.counters();
    aoe::Counters const& n = g_ini.counters();
    IrqCounters const irq = g_env.irq.counters();
    log("aoe-disk: %llu commands (%llu aborted, %llu failed), %llu PIO sectors, %llu DMA commands (%llu KiB), "
        "%llu interrupts sent (%llu while masked), %llu INT 13h calls",
        static_cast<unsigned long long>(c.commands), static_cast<unsigned long long>(c.aborted),
        static_cast<unsigned long long>(c.failed), static_cast<unsigned long long>(c.pio_sectors),
        static_cast<unsigned long long>(c.dma_commands), static_cast<unsigned long long>(c.dma_bytes / 1024),
        static_cast<unsigned long long>(irq.sent), static_cast<unsigned long long>(irq.masked + irq.refused),
        static_cast<unsigned long long>(g_int13.calls()));
    log("aoe-disk: network: %llu frames out, %llu retransmits, %llu in (%llu refused), %llu requests failed",
        static_cast<unsigned long long>(n.tx_frames), static_cast<unsigned long long>(n.retransmits),
        static_cast<unsigned long long>(n.rx_frames), static_cast<unsigned long long>(n.refused_total()),
        static_cast<unsigned long long>(n.requests_failed));
    aoe::RttEstimator const& r = g_ini.rtt();
    log("aoe-disk: timing: %llu retransmits needless (the first transmission answered late), srtt %llu us, "
        "rttvar %llu us, rto %llu us",
        static_cast<unsigned long long>(n.spurious_retransmits), static_cast<unsigned long long>(r.srtt_us()),
        static_cast<unsigned long long>(r.rttvar_us()), static_cast<unsigned long long>(r.rto_us()));
    if (g_inbox.dropped)
        log("aoe-disk: %llu received frames dropped (inbox full)", static_cast<unsigned long long>(g_inbox.dropped));
}

}  // namespace tv::ata
