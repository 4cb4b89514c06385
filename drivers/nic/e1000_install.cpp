// The e1000 mediator's place in the monitor: PCI discovery, the BAR0 hook, the I/O BAR
// (IOADDR/IODATA reach every register, so it is routed through the same mediator and pinned),
// monitor memory for rings and buffers, and the NicEnv that reaches the device and guest RAM.
#include <stdio.h>
#include <string.h>

#include "core/boot_info.hpp"
#include "core/canary.hpp"
#include "core/config_load.hpp"
#include "core/device/guest_memory.hpp"
#include "core/exit_stats.hpp"
#include "core/io_hooks.hpp"
#include "core/layout.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/memory.hpp"
#include "core/mmio_hooks.hpp"
#include "core/smp.hpp"
#include "drivers/nic/e1000_mediator.hpp"
#include "drivers/nic/nic_mediator.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "lib/spinlock.hpp"
#include "vpn/guest/vpn_install.hpp"
#include "drivers/pci/bar_hook.hpp"

namespace tv::nic {

namespace {

constexpr u16 kIntel = 0x8086, k82540em = 0x100E;
constexpr u16 kCommandMaster = 1u << 2;
constexpr u16 kEchoType = 0x88B5;  // IEEE 802 local experimental ethertype 1

class MonitorEnv final : public NicEnv {
  public:
    u32 dev_read(u32 o) override {
        u64 v = 0;
        if (!mmio_device_access(Gpa{mmio_hook_base(hook).raw + o}, 4, false, &v)) return 0xFFFFFFFF;
        return static_cast<u32>(v);
    }
    void dev_write(u32 o, u32 value) override {
        u64 v = value;
        (void)mmio_device_access(Gpa{mmio_hook_base(hook).raw + o}, 4, true, &v);
    }
    bool guest_ok(Gpa gpa, u64 len) override { return guest_memory().ok(gpa, len); }
    bool guest_read(Gpa gpa, void* dst, u64 len) override { return guest_memory().read(gpa, dst, len); }
    bool guest_write(Gpa gpa, void const* src, u64 len) override { return guest_memory().write(gpa, src, len); }
    void refused(char const* why, u64 detail) override {
        if (log_limit_allow("nic", why)) log("nic: refused %s (%#llx)", why, static_cast<unsigned long long>(detail));
    }
    void guest_reset() override;
    // The device's own lock (its hooks' lock), so the network stack's poll and send reach the
    // rings under the same lock as the guest's register accesses.
    void lock() override;
    void unlock() override;

    MmioHookId hook{};
};

// The guest's BAR0 accesses that exit, by register (device counters `nic-*`, make bench):
// where the exits of a transfer go.
enum class NicReg : u8 { Icr, Ims, Imc, Itr, Status, Rdt, Tdt, Ctrl, Other, kCount };
constexpr char const* kNicRegNames[] = {"icr", "ims", "imc", "itr", "status", "rdt", "tdt", "ctrl", "other"};
constexpr u32 kItr = 0x00C4;  // interrupt throttling: Linux rewrites it as its traffic changes
static_assert(sizeof kNicRegNames / sizeof kNicRegNames[0] == static_cast<u32>(NicReg::kCount));

NicReg nic_reg(u32 o) {
    if ((o & ~3u) == kItr) return NicReg::Itr;
    switch (static_cast<e1000::Reg>(o & ~3u)) {
        case e1000::Reg::Icr: return NicReg::Icr;
        case e1000::Reg::Ims: return NicReg::Ims;
        case e1000::Reg::Imc: return NicReg::Imc;
        case e1000::Reg::Status: return NicReg::Status;
        case e1000::Reg::Rdt: return NicReg::Rdt;
        case e1000::Reg::Tdt: return NicReg::Tdt;
        case e1000::Reg::Ctrl:
        case e1000::Reg::Rctl:
        case e1000::Reg::Tctl: return NicReg::Ctrl;
        default: return NicReg::Other;
    }
}

// The BAR0 pages whose reads go straight to the device (mapped read-only, only writes exit):
// all but those of the ring registers (0x2000-0x3FFF: the guest reads its own view of them,
// never the monitor's rings) and of the receive addresses (0x5000-0x5FFF: RAR[15] is the
// monitor's). Page 0 holds STATUS and ICR, which the guest's interrupt handler reads.
struct DirectPages {
    u64 offset, len;
};
constexpr DirectPages kDirectPages[] = {{0x0000, 0x2000}, {0x4000, 0x1000}, {0x6000, e1000::kBarSize - 0x6000}};

struct Nic {
    MonitorEnv env;
    E1000Mediator med;
    pci::Bdf bdf{0, 0, 0};
    u16 io_base{0}, io_size{0};
    u32 io_addr{0};
    bool io_sizing{false};
    bool present{false};
    Gpa direct_at{0};  // where BAR0 was when its reads were last made direct (0: they all exit)
    u64 accesses[static_cast<u32>(NicReg::kCount)][2]{};  // [register][write]
    Device device{"e1000"};  // BAR0, the I/O BAR and the configuration hooks: one lock
};

constinit Nic g_nic;

void log_accesses(Nic const& n, char const* when) {
    char line[200];
    int len = 0;
    for (u32 r = 0; r < static_cast<u32>(NicReg::kCount) && len >= 0 && static_cast<size_t>(len) < sizeof line; ++r)
        len += snprintf(line + len, sizeof line - static_cast<size_t>(len), " %s=%llu/%llu", kNicRegNames[r],
                        static_cast<unsigned long long>(n.accesses[r][0]), static_cast<unsigned long long>(n.accesses[r][1]));
    log("nic %02x:%02x.%u %s: BAR0 accesses that exited (reads/writes):%s", n.bdf.bus, n.bdf.dev, n.bdf.fn, when, line);
}

void log_counters(Nic const& n, char const* when) {
    NicCounters const& c = n.med.counters();
    log("nic %02x:%02x.%u %s: tx guest %llu packets (%llu descs, %llu copied), monitor %llu (%llu full); "
        "rx guest %llu; guest drops: ring full %llu, rx off %llu, multi-buffer %llu; resets %llu",
        n.bdf.bus, n.bdf.dev, n.bdf.fn, when, static_cast<unsigned long long>(c.tx_guest_packets),
        static_cast<unsigned long long>(c.tx_guest_descs), static_cast<unsigned long long>(c.tx_guest_copied),
        static_cast<unsigned long long>(c.tx_monitor_frames), static_cast<unsigned long long>(c.tx_monitor_full),
        static_cast<unsigned long long>(c.rx_guest_frames), static_cast<unsigned long long>(c.rx_guest_ring_full),
        static_cast<unsigned long long>(c.rx_guest_disabled), static_cast<unsigned long long>(c.rx_multi_desc),
        static_cast<unsigned long long>(c.resets));
    sw::SwitchCounters const& k = n.med.port().counters();
    log("nic %02x:%02x.%u %s: switch: wire->guest %llu, wire->monitor %llu, guest->monitor %llu, "
        "monitor->guest %llu, monitor->wire %llu, guest->wire (copied) %llu, dropped wire/guest/monitor "
        "%llu/%llu/%llu, guest ring full %llu, own frames looped back %llu",
        n.bdf.bus, n.bdf.dev, n.bdf.fn, when, static_cast<unsigned long long>(k.wire_to_guest),
        static_cast<unsigned long long>(k.wire_to_monitor), static_cast<unsigned long long>(k.guest_to_monitor),
        static_cast<unsigned long long>(k.monitor_to_guest), static_cast<unsigned long long>(k.monitor_to_wire),
        static_cast<unsigned long long>(k.guest_to_wire), static_cast<unsigned long long>(k.wire_dropped),
        static_cast<unsigned long long>(k.guest_dropped), static_cast<unsigned long long>(k.monitor_dropped),
        static_cast<unsigned long long>(k.guest_full), static_cast<unsigned long long>(k.wire_own_looped));
    if (c.tx_offload_tso || c.tx_offload_csum)  // zero-copy: what the device did for the guest
        log("nic %02x:%02x.%u %s: offloads: the device segmented %llu guest packets, checksummed %llu", n.bdf.bus,
            n.bdf.dev, n.bdf.fn, when, static_cast<unsigned long long>(c.tx_offload_tso),
            static_cast<unsigned long long>(c.tx_offload_csum));
    if (c.tx_tso_packets)  // copy-out: the guest's TSO sends the monitor cut (drivers/nic/tx_tso)
        log("nic %02x:%02x.%u %s: tso: %llu guest packets cut into %llu frames", n.bdf.bus, n.bdf.dev, n.bdf.fn,
            when, static_cast<unsigned long long>(c.tx_tso_packets),
            static_cast<unsigned long long>(c.tx_tso_segments));
    log_accesses(n, when);
    for (u32 r = 0; r < static_cast<u32>(Refusal::Count); ++r)
        if (c.refused[r])
            log("nic: refused %s: %llu", refusal_name(static_cast<Refusal>(r)),
                static_cast<unsigned long long>(c.refused[r]));
}

void MonitorEnv::guest_reset() { log_counters(g_nic, "at guest reset"); }
void MonitorEnv::lock() { g_nic.device.acquire(); }
void MonitorEnv::unlock() { g_nic.device.release(); }

// Makes the reads of kDirectPages go to the device, at the guest's first access and again
// after each move of the BAR (a move takes all the hook's pages back). Until then, or when the
// other CPUs cannot be flushed, they exit and are handled the same way.
void reads_direct(Nic& n, Vcpu& v) {
    Gpa const base = mmio_hook_base(n.env.hook);
    if (n.direct_at.raw == base.raw) return;
    for (DirectPages const& p : kDirectPages)
        if (!ok(mmio_hook_reads_direct(v, n.env.hook, true, p.offset, p.len))) return;
    n.direct_at = base;
}

MmioAction bar0_access(void* ctx, Vcpu& v, Gpa gpa, u8 size, bool write, u64* value) {
    Nic& n = *static_cast<Nic*>(ctx);
    reads_direct(n, v);
    u32 const o = static_cast<u32>(gpa.raw - mmio_hook_base(n.env.hook).raw);
    ++n.accesses[static_cast<u32>(nic_reg(o))][write ? 1 : 0];
    bool const mine = E1000Mediator::owns(o) || (size == 8 && E1000Mediator::owns((o & ~3u) + 4));
    if (!mine) return MmioAction::PassThrough;
    if (write) n.med.write_sized(o, size, *value);
    else *value = n.med.read_sized(o, size);
    return MmioAction::Handled;
}

// IOADDR at +0 selects a register, IODATA at +4 reaches it.
IoAction io_access(void* ctx, Vcpu&, IoExit const& io, u32* value) {
    Nic& n = *static_cast<Nic*>(ctx);
    u32 const o = static_cast<u32>(io.port - n.io_base);
    if (io.string || io.size != 4 || (o != 0 && o != 4)) {
        if (io.in) *value = 0xFFFFFFFF;
        return IoAction::Handled;
    }
    if (o == 0) {
        if (io.in) *value = n.io_addr;
        else n.io_addr = *value & (e1000::kBarSize - 4);
        return IoAction::Handled;
    }
    if (E1000Mediator::owns(n.io_addr)) {
        if (io.in) *value = static_cast<u32>(n.med.read_sized(n.io_addr, 4));
        else n.med.write_sized(n.io_addr, 4, *value);
    } else {
        u64 v = *value;
        (void)mmio_device_access(Gpa{mmio_hook_base(n.env.hook).raw + n.io_addr}, 4, !io.in, &v);
        if (io.in) *value = static_cast<u32>(v);
    }
    return IoAction::Handled;
}

// The command register keeps bus mastering on: the monitor's own traffic needs it.
pci::ConfigAction command_access(void*, Vcpu&, pci::Bdf, u16 reg, u8, bool write, u32* value) {
    if (write && reg == pci::kRegCommand) *value |= kCommandMaster;
    return pci::ConfigAction::PassThrough;
}

// The I/O BAR stays where the hook is; sizing is answered without touching the device.
pci::ConfigAction io_bar_pin(void* ctx, Vcpu&, pci::Bdf, u16, u8 size, bool write, u32* value) {
    Nic& n = *static_cast<Nic*>(ctx);
    if (size != 4) return write ? pci::ConfigAction::Handled : pci::ConfigAction::PassThrough;
    if (!write) {
        if (!n.io_sizing) return pci::ConfigAction::PassThrough;
        *value = (~(u32{n.io_size} - 1) & 0xFFFFFFFCu) | 1u;
        return pci::ConfigAction::Handled;
    }
    n.io_sizing = *value == 0xFFFFFFFF;
    if (!n.io_sizing && (*value & ~3u) != n.io_base) log("nic: guest tried to move the e1000 I/O BAR; ignored");
    return pci::ConfigAction::Handled;
}

Status hook_io(Nic& n, pci::Function const& f) {
    for (u8 i = 0; i < f.bar_count; ++i) {
        pci::Bar const& b = f.bars[i];
        if (b.kind != pci::BarKind::Io || b.base == 0 || b.size < 8 || b.size > 0x100) continue;
        n.io_base = static_cast<u16>(b.base);
        n.io_size = static_cast<u16>(b.size);
        Status const s = io_hook_register(n.device, n.io_base, n.io_size, io_access, &n, "e1000-io");
        return ok(s) ? pci::pci_config_hook_register(n.device, f.bdf, b.reg, 4, io_bar_pin, &n, "e1000-io-bar") : s;
    }
    return Status::Ok;
}

void echo(void* ctx, u8 const* frame, size_t len) {
    auto& port = *static_cast<FramePort*>(ctx);
    u8 out[1514];
    if (len > sizeof out) return;
    memcpy(out, frame, len);
    memcpy(out, frame + 6, 6);
    MacAddr const m = port.mac();
    memcpy(out + 6, m.b, 6);
    (void)port.send(out, len);
}

Status install_one(Nic& n, pci::Function const& f, tv::MacAddr const& mac) {
    pci::Bar const& b = f.bars[0];
    if ((b.kind != pci::BarKind::Mem32 && b.kind != pci::BarKind::Mem64) || b.size < e1000::kBarSize)
        return Status::NotFound;
    n.bdf = f.bdf;
    char who[24];
    snprintf(who, sizeof who, "nic %02x:%02x.%u", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    Status s = pci::pci_bar_hook(n.device, f, 0, bar0_access, &n, "e1000-mediator", who, &n.env.hook);
    if (s == Status::Exists)
        return config()->vpn.present ? Status::Refused : Status::Ok;  // [vpn]: a guest-driven NIC sends in clear
    if (ok(s)) s = hook_io(n, f);
    if (ok(s)) s = pci::pci_config_hook_register(n.device, f.bdf, pci::kRegCommand, 2, command_access, &n, "e1000-command");
    if (!ok(s)) return s;
    u16 const cmd = static_cast<u16>(pci::pci_config_read(f.bdf, pci::kRegCommand, 2));
    pci::pci_config_write(f.bdf, pci::kRegCommand, 2, cmd | pci::kCommandMemory | kCommandMaster);
    Hpa const h = alloc_pages(E1000Mediator::kDmaBytes / kPageSize);
    if (!h.raw) return Status::NoMemory;
    MacAddr m{};
    memcpy(m.b, mac.b, 6);
    n.med.init(&n.env, DmaMem{static_cast<u8*>(hpa_virt(h)), h}, m);
    for (u32 i = 0; i < E1000Mediator::kRxSlots; ++i)  // receive buffers past the longest frame
        canary_fill(static_cast<u8*>(hpa_virt(h)) + E1000Mediator::kRxBufOff + i * E1000Mediator::kRxBufBytes + 1536,
                    E1000Mediator::kRxBufBytes - 1536, i ? nullptr : "e1000 rx tails, every 2048 bytes x256,");
    n.present = true;
    vpn::vpn_guest_install(n.med);  // [vpn]: the guest's frames go to the VPN policy from the start
    set_monitor_port(&n.med.port());
    // The guest's driver puts the NIC's own address (from its EEPROM) in RAR[0]: sharing it
    // would hand every one of the guest's unicast frames to the monitor.
    u32 const ral0 = n.env.dev_read(e1000::ral(0)), rah0 = n.env.dev_read(e1000::rah(0));
    if (ral0 == static_cast<u32>(m.b[0] | m.b[1] << 8 | m.b[2] << 16 | m.b[3] << 24) &&
        (rah0 & 0xFFFF) == static_cast<u32>(m.b[4] | m.b[5] << 8))
        log("nic: WARNING: [network] mac is the NIC's own address; the guest will receive no unicast");
    log("nic %02x:%02x.%u: e1000 mediated, monitor MAC %02x:%02x:%02x:%02x:%02x:%02x, link %s", f.bdf.bus,
        f.bdf.dev, f.bdf.fn, m.b[0], m.b[1], m.b[2], m.b[3], m.b[4], m.b[5], n.med.link_up() ? "up" : "down");
    if (n.med.unicast_promiscuous())
        log("nic: the device keeps no RAR[15] for the monitor's MAC: unicast-promiscuous, the guest's unicast filter applied by the mediator");
    char buf[8];
    if (char const* v = cmdline_value("net_echo", buf, sizeof buf); v && v[0] == '1') {
        s = n.med.port().add_receiver(kEchoType, echo, &n.med.port());
        log("nic: net_echo on (ethertype %#x)", kEchoType);
    }
    return s;
}

}  // namespace

static_assert(E1000Mediator::kDmaBytes % kPageSize == 0);

namespace {

Status prepare(bool* active) {
    Config const* cfg = config();
    *active = cfg && cfg->network.present;
    return Status::Ok;
}

bool matches(pci::Function const& f) { return f.vendor == kIntel && f.device == k82540em; }

// The first 82540EM only: the monitor has one link.
constinit bool g_offered = false;

Status attach(pci::Function const& f, pci::PciClaim& claim) {
    if (g_offered || !claim.take(pci::kAllParts)) return Status::Ok;
    g_offered = true;
    return install_one(g_nic, f, config()->network.mac);
}

// The guest's BAR0 accesses that exited, "nic-REG-r" / "nic-REG-w", then its packets and how
// many of them the device segmented or checksummed for it (zero-copy offloads).
constexpr u32 kAccessCounters = 2 * static_cast<u32>(NicReg::kCount), kDeviceCounters = kAccessCounters + 4;

bool access_counter(void*, u32 i, char* name, u64* value) {
    if (i >= kDeviceCounters) return false;
    if (i < kAccessCounters) {
        snprintf(name, 17, "nic-%s-%c", kNicRegNames[i / 2], i % 2 ? 'w' : 'r');
        *value = g_nic.accesses[i / 2][i % 2];
        return true;
    }
    NicCounters const& c = g_nic.med.counters();
    constexpr char const* kNames[] = {"nic-tx-packets", "nic-tx-tso", "nic-tx-csum", "nic-rx-frames"};
    u64 const v[] = {c.tx_guest_packets, c.tx_offload_tso, c.tx_offload_csum, c.rx_guest_frames};
    snprintf(name, 17, "%s", kNames[i - kAccessCounters]);
    *value = v[i - kAccessCounters];
    return true;
}

Status finish() {
    if (g_nic.present && !stats_device_counters_register(kDeviceCounters, access_counter, nullptr))
        log("nic: no room for the device counters");
    if (!g_offered) log("nic: [network] configured but no e1000 (8086:100e) to mediate; the monitor has no network");
    else if (g_nic.present && !power_off_log_register(nic_mediator_log)) log("nic: no room for the power-off log");
    if (g_nic.present) log_limit_install();
    return Status::Ok;
}

}  // namespace

constinit pci::PciDriver const kE1000Driver{"e1000", prepare, matches, attach, finish};

void nic_mediator_log() {
    if (g_nic.present) log_counters(g_nic, "counters");
}

}  // namespace tv::nic
