// The monitor side of the IDE mediator: ports, PCI configuration, monitor memory. Host-tested
// against tests/unit/mocks (test_install_glue_ide.cpp): the channels reach the hardware only
// through the port seam, machine_ports().
#include "drivers/ide/ide_install.hpp"

#include <stdarg.h>
#include <stdio.h>

#include "core/acpi.hpp"
#include "core/canary.hpp"
#include "core/config_load.hpp"
#include "core/disk_keys.hpp"
#include "core/handlers/power.hpp"
#include "core/device/guest_memory.hpp"
#include "core/device/port_io.hpp"
#include "core/io_hooks.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "core/memory.hpp"
#include "core/smp.hpp"
#include "drivers/ide/ide_channel.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "storage/write_rule.hpp"

namespace tv::ata {

namespace {

constexpr u16 kLegacyCmd[2] = {0x1F0, 0x170};
constexpr u16 kLegacyCtrl[2] = {0x3F6, 0x376};
constexpr u32 kMaxChannels = 4;  // two controllers
// Bounce buffer per channel: more than Linux's default largest request (1280 KiB);
// larger DMA requests on an encrypted disk are refused (docs/ata.md).
constexpr u64 kBouncePages = 512;
constexpr u64 kBounceAlignPages = 16;  // 64 KiB: PRD regions may not cross such a boundary

class MonitorIdeEnv final : public IdeEnv {
  public:
    // The channel's device, through the port seam (core/device/port_io): in/out in the monitor.
    u32 port_in(u16 port, u8 size) override { return machine_ports().in(port, size); }
    void port_out(u16 port, u8 size, u32 v) override { machine_ports().out(port, size, v); }
    void port_in_words(u16 port, u16* buf, u32 n) override { machine_ports().in_words(port, buf, n); }
    void port_out_words(u16 port, u16 const* buf, u32 n) override { machine_ports().out_words(port, buf, n); }
    bool guest_ram(Gpa gpa, u64 bytes) override { return guest_memory().ok(gpa, bytes); }
    bool log_allowed(char const* device, char const* cause) override { return log_limit_allow(device, cause); }
    u8* guest_ptr(Gpa gpa) override { return guest_memory().ptr(gpa, 1); }
    void log(char const* fmt, ...) override {
        char line[200];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        tv::log("%s", line);
    }
    // Only the vCPU that exited can change its bitmap safely (VMX forbids touching a bitmap
    // another CPU runs the guest on), so a change is promised only when that is every vCPU.
    bool set_port_intercept(u16 first, u16 count, bool on) override {
        if (!current || smp_cpu_count() != 1) return false;
        current->set_io_intercept(first, count, on);
        return true;
    }

    Vcpu* current{nullptr};  // the vCPU whose exit the mediator is handling (under g_device's lock)
};

struct PortBlock {
    IdeChannel* channel;
    IdeBlock block;
    u16 base;
};

struct Controller {
    pci::Bdf bdf;
    u32 bars[5];  // BAR0-BAR4 as found: pinned there
};

MonitorIdeEnv g_env;
// Every IDE channel and controller shares g_env: the mediator is one device, one lock.
constinit Device g_device{"ide"};
constinit IdeChannel g_channels[kMaxChannels];
PortBlock g_blocks[kMaxChannels * 4];
Controller g_controllers[kMaxChannels / 2];
struct ChannelNames {
    char channel[24];   // "ide-00:01.1-secondary"
    char hooks[4][32];  // its I/O hooks: "-data", "-cmd", "-ctl", "-bm"
};
ChannelNames g_names[kMaxChannels];
u32 g_channel_count, g_block_count, g_controller_count;
u32 g_pin_logs;

IoAction port_hook(void* ctx, Vcpu& v, IoExit const& io, u32* value) {
    PortBlock const& b = *static_cast<PortBlock*>(ctx);
    g_env.current = &v;
    b.channel->access(b.block, static_cast<u8>(io.port - b.base), io.in, io.size, value);
    g_env.current = nullptr;
    return IoAction::Handled;
}

// Ports [first, first + count) of a block starting at base.
Status claim(IdeChannel* ch, IdeBlock block, u16 base, u16 first, u16 count, char const* name) {
    PortBlock& b = g_blocks[g_block_count++];
    b = PortBlock{ch, block, base};
    return io_hook_register(g_device, first, count, port_hook, &b, name);
}

// The controller's BARs and programming interface stay as the monitor found them: the
// intercepted ports are fixed once the guest runs (the backends' I/O bitmaps are built once),
// so a BAR or a native/compatibility switch that moved a channel would let the guest reach it
// unmediated. Sizing (all ones) still works; any other new value is replaced by the old one.
pci::ConfigAction config_hook(void* ctx, Vcpu&, pci::Bdf b, u16 reg, u8 size, bool write, u32* value) {
    if (!write) return pci::ConfigAction::PassThrough;
    Controller const& c = *static_cast<Controller*>(ctx);
    u16 const dword = reg & ~3u;
    u32 const shift = (reg & 3u) * 8;
    u32 const mask = (size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu) << shift;
    u32 const old = pci::pci_config_read(b, dword, 4);
    u32 const want = (old & ~mask) | ((*value << shift) & mask);
    if (dword == pci::kRegClass) {
        if (want != old && g_pin_logs++ < 8) log("ide: guest write %#x to the class/prog-if register ignored", want);
        return pci::ConfigAction::Handled;
    }
    u32 const idx = (dword - pci::kRegBar0) / 4u;
    bool const sizing = (want | 3u) == 0xFFFFFFFFu;
    bool const same = (want & ~3u) == (c.bars[idx] & ~3u);
    u32 const put = sizing || same ? want : c.bars[idx];
    if (put != want && g_pin_logs++ < 8) log("ide: BAR%u stays at %#x (guest wrote %#x)", idx, c.bars[idx], want);
    pci::pci_config_write(b, dword, 4, put);
    return pci::ConfigAction::Handled;
}

// Known before the APs start (ap_boot reads the same table later).
bool several_cpus() {
    u32 ids[2];
    return acpi_find_cpus(ids, 2) > 1;
}

Status alloc_dma(bool bounce, DmaMemory* out) {
    Hpa const prd = alloc_pages(1);
    if (!prd.raw) return Status::NoMemory;
    *out = DmaMemory{static_cast<PrdEntry*>(hpa_virt(prd)), prd, nullptr, Hpa{0}, 0};
    if (!bounce) return Status::Ok;  // no key and no policy: DMA goes to the guest's buffers
    Hpa const buf = alloc_pages(kBouncePages, kBounceAlignPages);
    if (!buf.raw) return Status::NoMemory;
    out->bounce = static_cast<u8*>(hpa_virt(buf));
    out->bounce_phys = buf;
    out->bounce_bytes = static_cast<u32>(kBouncePages * kPageSize);
    canary_fill(out->bounce, out->bounce_bytes, "ide bounce");
    return Status::Ok;
}

Status install_channel(pci::Function const& f, u8 ch, u16 bm_base, bool bounce) {
    bool const native = f.prog_if & (1u << (ch * 2));
    IdePorts p{kLegacyCmd[ch], kLegacyCtrl[ch], static_cast<u16>(bm_base ? bm_base + ch * 8 : 0)};
    if (native) {
        pci::Bar const& cb = f.bars[ch * 2];
        pci::Bar const& ctl = f.bars[ch * 2 + 1];
        if (cb.kind != pci::BarKind::Io || ctl.kind != pci::BarKind::Io) return Status::Ok;  // unassigned: unusable
        p.cmd = static_cast<u16>(cb.base);
        p.ctrl = static_cast<u16>(ctl.base + 2);
    }
    u32 const idx = g_channel_count;
    IdeChannel* c = &g_channels[idx];
    DmaMemory dma{};
    if (Status s = alloc_dma(bounce, &dma); !ok(s)) return s;
    // Named by its place, not by the order of mediation (which depends on what other drivers
    // took): the PIIX secondary channel is the same name in every run.
    ChannelNames& n = g_names[idx];
    snprintf(n.channel, sizeof n.channel, "ide-%02x:%02x.%u-%s", f.bdf.bus, f.bdf.dev, f.bdf.fn,
             ch ? "secondary" : "primary");
    static char const* const kParts[4] = {"data", "cmd", "ctl", "bm"};
    for (u32 i = 0; i < 4; ++i) snprintf(n.hooks[i], sizeof n.hooks[i], "%s-%s", n.channel, kParts[i]);
    c->init(&g_env, n.channel, p, dma);
    c->set_cd_write(config() && config()->ide.cd_write);
    // Data and features/error, and status/command. Count, LBA and device (ports 2-6) are read
    // back from the device at the command write and written again before the command byte;
    // with one CPU they cost no exits. With several, another CPU could write them between
    // the two: then they exit too, and such a write waits for the channel's lock (every port
    // of a channel must stay under one lock).
    u16 const cmd = p.cmd;
    bool const taskfile_exits = several_cpus();
    if (Status s = claim(c, IdeBlock::Command, cmd, cmd, taskfile_exits ? 7 : 2, n.hooks[0]); !ok(s)) return s;
    if (Status s = claim(c, IdeBlock::Command, cmd, static_cast<u16>(cmd + 7), 1, n.hooks[1]); !ok(s)) return s;
    if (Status s = claim(c, IdeBlock::Control, p.ctrl, p.ctrl, 1, n.hooks[2]); !ok(s)) return s;
    if (p.bm)
        if (Status s = claim(c, IdeBlock::BusMaster, p.bm, p.bm, 8, n.hooks[3]); !ok(s)) return s;
    ++g_channel_count;
    log("%s: ports %#x/%#x, bus master %#x%s", n.channel, p.cmd, p.ctrl, p.bm,
        taskfile_exits ? ", taskfile intercepted (SMP)" : "");
    c->probe();
    return Status::Ok;
}

Status install_controller(pci::Function const& f, bool bounce, pci::PciClaim& claim) {
    if (g_controller_count == kMaxChannels / 2) return Status::NoMemory;
    Controller& c = g_controllers[g_controller_count++];
    c.bdf = f.bdf;
    for (u16 i = 0; i < 5; ++i) c.bars[i] = pci::pci_config_read(f.bdf, static_cast<u16>(pci::kRegBar0 + 4 * i), 4);
    if (Status s = pci::pci_config_hook_register(g_device, f.bdf, pci::kRegClass, 4, config_hook, &c, "ide-class"); !ok(s))
        return s;
    if (Status s = pci::pci_config_hook_register(g_device, f.bdf, pci::kRegBar0, 20, config_hook, &c, "ide-bars"); !ok(s))
        return s;
    pci::Bar const& bm = f.bars[4];
    u16 const bm_base = bm.kind == pci::BarKind::Io && bm.base ? static_cast<u16>(bm.base) : 0;
    if (!bm_base) log("ide: %02x:%02x.%u has no bus-master BAR: PIO only", f.bdf.bus, f.bdf.dev, f.bdf.fn);
    for (u8 ch = 0; ch < 2; ++ch) {
        // A channel another driver took (the AoE disk takes the primary one) is left to it.
        if (!claim.take(ch ? pci::kIdeSecondary : pci::kIdePrimary)) continue;
        if (Status s = install_channel(f, ch, bm_base, bounce); !ok(s)) return s;
    }
    return Status::Ok;
}

}  // namespace

namespace {

constinit bool g_bounce = false;

Status prepare(bool* active) {
    *active = true;
    if (Status s = sector_crypt_load_boot_keys(); !ok(s)) return s;
    // Without keys every disk is passed through or refused; a file-protection policy still
    // judges writes in monitor memory (Volume::direct), so it needs the bounce buffer too.
    g_bounce = unlocked_disk_count() > 0 || storage::policy_in_force() != nullptr;
    return Status::Ok;
}

bool matches(pci::Function const& f) { return f.class_code == 0x01 && f.subclass == 0x01; }

Status attach(pci::Function const& f, pci::PciClaim& claim) {
    Status const s = install_controller(f, g_bounce, claim);
    if (!ok(s))
        log("ide: %02x:%02x.%u: could not be mediated (status %u)", f.bdf.bus, f.bdf.dev, f.bdf.fn,
            static_cast<unsigned>(s));
    return s;
}

Status finish() {
    log_limit_install();
    if (g_channel_count && !power_off_log_register(ide_mediator_log)) log("ide: no room for the power-off log");
    return Status::Ok;
}

}  // namespace

constinit pci::PciDriver const kIdeDriver{"ide", prepare, matches, attach, finish};

void ide_mediator_log() {
    for (u32 i = 0; i < g_channel_count; ++i) {
        IdeCounters const& c = g_channels[i].counters();
        log("%s: %llu commands, %llu refused, %llu PIO sectors, %llu DMA commands (%llu KiB)", g_channels[i].name(),
            static_cast<unsigned long long>(c.commands), static_cast<unsigned long long>(c.refused),
            static_cast<unsigned long long>(c.pio_sectors), static_cast<unsigned long long>(c.dma_commands),
            static_cast<unsigned long long>(c.dma_bytes / 1024));
    }
}

}  // namespace tv::ata
