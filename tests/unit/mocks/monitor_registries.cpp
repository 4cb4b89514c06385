#include "tests/unit/mocks/monitor_registries.hpp"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/boot_info.hpp"
#include "core/canary.hpp"
#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/acpi.hpp"
#include "core/disk_keys.hpp"
#include "core/device/guest_memory.hpp"
#include "core/handlers/power.hpp"
#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/smp.hpp"
#include "core/timer.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "vpn/monitor/tunnel_install.hpp"

namespace tv::mocks {

namespace {
u64 key(pci::Bdf b, u16 dword) {
    return (u64{b.bus} << 16 | u64{b.dev} << 11 | u64{b.fn} << 8) << 12 | (dword & 0xFFCu);
}
}  // namespace

Registries& registries() {
    static Registries r;
    return r;
}

IoHookRec const* Registries::io_at(u16 port) const {
    for (auto const& h : io)
        if (port >= h.first && port - h.first < h.count) return &h;
    return nullptr;
}
MmioHookRec const* Registries::mmio_at(Gpa gpa) const {
    for (auto const& h : mmio)
        if (gpa.raw >= h.base.raw && gpa.raw - h.base.raw < h.size) return &h;
    return nullptr;
}
ConfigHookRec const* Registries::config_at(pci::Bdf b, u16 reg) const {
    for (auto const& h : config_hooks)
        if (h.bdf == b && reg >= h.first && reg - h.first < h.count) return &h;
    return nullptr;
}
bool Registries::logged(char const* needle) const {
    for (auto const& l : logs)
        if (l.find(needle) != std::string::npos) return true;
    return false;
}
u32 Registries::read_config(pci::Bdf b, u16 dword) const {
    auto it = config_space.find(key(b, dword));
    return it == config_space.end() ? 0xFFFFFFFF : it->second;
}
void Registries::write_config(pci::Bdf b, u16 dword, u32 value) { config_space[key(b, dword)] = value; }
Registries::Parked Registries::park_hooks(char const* prefix) {
    auto const named = [prefix](std::string const& n) { return n.rfind(prefix, 0) == 0; };
    Parked p;
    for (auto const& h : io)
        if (named(h.name)) p.io.push_back(h);
    for (auto const& h : config_hooks)
        if (named(h.name)) p.config.push_back(h);
    std::erase_if(io, [&](IoHookRec const& h) { return named(h.name); });
    std::erase_if(config_hooks, [&](ConfigHookRec const& h) { return named(h.name); });
    return p;
}
void Registries::unpark(Parked const& p) {
    io.insert(io.end(), p.io.begin(), p.io.end());
    config_hooks.insert(config_hooks.end(), p.config.begin(), p.config.end());
}

u32 FakeIrqControllers::ioapic_entry_low(u32 gsi) {
    auto it = entries.find(gsi);
    return it == entries.end() ? 1u << 16 : it->second;  // masked
}

}  // namespace tv::mocks

namespace tv {

using mocks::registries;

// Another test file may define the monitor's log as a no-op; this one records when it is alone.
__attribute__((weak)) void log(char const* fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    registries().logs.emplace_back(line);
}

namespace {
Status io_hook_add(Device* dev, u16 first, u16 count, IoHandler fn, void* ctx, char const* name) {
    for (u32 p = first; p < u32{first} + count; ++p)
        if (registries().io_at(static_cast<u16>(p))) return Status::Exists;
    registries().io.push_back(mocks::IoHookRec{first, count, fn, ctx, name, dev});
    return Status::Ok;
}
Status mmio_hook_add(Device* dev, Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name, MmioHookId* id) {
    if (registries().mmio_at(base) || registries().mmio_at(Gpa{base.raw + size - 1})) return Status::Exists;
    if (id) *id = MmioHookId{static_cast<u8>(registries().mmio.size())};
    registries().mmio.push_back(mocks::MmioHookRec{base, size, fn, ctx, name, dev});
    return Status::Ok;
}
}  // namespace

Status io_hook_register(u16 first, u16 count, IoHandler fn, void* ctx, char const* name) {
    return io_hook_add(nullptr, first, count, fn, ctx, name);
}
Status io_hook_register(Device& dev, u16 first, u16 count, IoHandler fn, void* ctx, char const* name) {
    return io_hook_add(&dev, first, count, fn, ctx, name);
}
Status mmio_hook_register(Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name, MmioHookId* id) {
    return mmio_hook_add(nullptr, base, size, fn, ctx, name, id);
}
Status mmio_hook_register(Device& dev, Gpa base, u64 size, MmioHandler fn, void* ctx, char const* name, MmioHookId* id) {
    return mmio_hook_add(&dev, base, size, fn, ctx, name, id);
}
Device* mmio_hook_device(MmioHookId id) {
    return id.raw < registries().mmio.size() ? registries().mmio[id.raw].device : nullptr;
}

Gpa mmio_hook_base(MmioHookId id) { return registries().mmio.at(id.raw).base; }
// The nested mapping is the monitor's; on the host every access goes through the hook.
Status mmio_hook_reads_direct(Vcpu&, MmioHookId, bool, u64, u64) { return Status::Ok; }

bool mmio_device_access(Gpa gpa, u8, bool write, u64* value) {
    mocks::MmioHookRec const* h = registries().mmio_at(gpa);
    if (!h) return false;
    ++registries().device_accesses;
    if (h->device && !h->device->locked()) ++registries().device_accesses_unlocked;
    if (write) registries().device_regs[gpa.raw] = static_cast<u32>(*value);
    else *value = registries().device_regs[gpa.raw];
    return true;
}

bool power_off_log_register(void (*)()) { return true; }
// The VPN tunnel (vpn/monitor/) is the monitor's alone: the install glue keeps its fail-closed stub.
namespace vpn {
Tunnel* vpn_tunnel_install(VpnGuestPolicy&, nic::E1000Mediator&) { return nullptr; }
}  // namespace vpn
// The monitor's rate limit (core/log_limit_monitor.cpp): every refusal is logged on the host.
bool log_limit_allow(char const*, char const*) { return true; }
void log_limit_install() {}
void canary_fill(void*, size_t, char const*) {}  // the suite's canary has no place on the host
u32 this_cpu() { return 0; }
u32 smp_cpu_count() { return registries().cpus; }
u32 acpi_find_cpus(u32* ids, u32 max) {
    u32 const n = registries().cpus < max ? registries().cpus : max;
    for (u32 i = 0; i < n; ++i) ids[i] = i;
    return n;
}
u32 unlocked_disk_count() { return registries().unlocked_disks; }

u64 clock_us() { return registries().now_us; }
void clock_delay_us(u64 us) { registries().now_us += us; }
void timer_run_due() { registries().timer_runs.push_back(registries().now_us); }

BootInfo& boot_info() {
    static BootInfo b{};
    return b;
}

Status bios_disk_install(u8 drive, BiosDiskFn fn, void* ctx) {
    if (!ok(registries().bios_disk)) return registries().bios_disk;
    registries().bios_drives.push_back(mocks::BiosDriveRec{drive, fn, ctx});
    return Status::Ok;
}

IrqControllers& irq_controllers() { return registries().irq; }

// The machine's ports: a test's fake device, or a bus where nothing answers.
PortIo& machine_ports() {
    struct Forward final : PortIo {
        u32 in(u16 p, u8 size) override {
            if (PortIo* m = registries().ports) return m->in(p, size);
            return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1;
        }
        void out(u16 p, u8 size, u32 v) override {
            if (PortIo* m = registries().ports) m->out(p, size, v);
        }
        void in_words(u16 p, u16* buf, u32 n) override {
            for (u32 i = 0; i < n; ++i) buf[i] = static_cast<u16>(in(p, 2));
        }
        void out_words(u16 p, u16 const* buf, u32 n) override {
            for (u32 i = 0; i < n; ++i) out(p, 2, buf[i]);
        }
    };
    static Forward f;
    return f;
}

char const* cmdline_value(char const* k, char* buf, size_t n) {
    std::string const& c = registries().cmdline;
    std::string const want = std::string(k) + "=";
    size_t at = 0;
    while ((at = c.find(want, at)) != std::string::npos) {
        if (at == 0 || c[at - 1] == ' ') {
            size_t const start = at + want.size(), end = c.find(' ', start);
            snprintf(buf, n, "%s", c.substr(start, end == std::string::npos ? std::string::npos : end - start).c_str());
            return buf;
        }
        at += want.size();
    }
    return nullptr;
}

Config const* config() { return registries().conf_loaded ? &registries().conf : nullptr; }

// Monitor pages from the host heap: the Hpa is chosen so that the direct map (hpa_virt)
// lands on the allocation.
Hpa alloc_pages(u64 count, u64 align_pages) {
    if (registries().out_of_pages) return Hpa{0};
    u64 const align = kPageSize * (align_pages ? align_pages : 1);
    void* p = aligned_alloc(align, count * kPageSize);
    if (!p) return Hpa{0};
    memset(p, 0, count * kPageSize);
    return Hpa{reinterpret_cast<u64>(p) - kDirectMapBase};
}

GuestMemory const& guest_memory() {
    static GuestMemory const g = [] {
        GuestMemory m;
        MemoryMap map;
        (void)map.add(0, 0x9FC00, MemType::Usable);
        map.normalize();
        (void)m.init(map, 64ull << 20, 32ull << 20, 39, nullptr);
        return m;
    }();
    return g;
}

namespace storage {
Status load_boot_keys() { return registries().boot_keys; }
}  // namespace storage

}  // namespace tv

namespace tv::pci {

using mocks::registries;

Status pci_config_hook_register(Device& dev, Bdf b, u16 first, u16 count, ConfigHandler fn, void* ctx, char const* name) {
    registries().config_hooks.push_back(mocks::ConfigHookRec{b, first, count, fn, ctx, name, &dev});
    return Status::Ok;
}

Function const* pci_find_class(u8, u8, u8) { return nullptr; }  // no bridge: the ECAM test hook is the monitor's

Status pci_bar_follow(Bdf b, u8 bar, MmioHookId hook) {
    registries().follows.push_back(mocks::FollowRec{b, bar, hook});
    return Status::Ok;
}

u32 pci_config_read(Bdf b, u16 reg, u8 size) {
    u32 const d = registries().read_config(b, reg & ~3u) >> ((reg & 3u) * 8);
    return size == 4 ? d : d & ((1u << (size * 8)) - 1);
}

void pci_config_write(Bdf b, u16 reg, u8 size, u32 value) {
    u16 const dword = reg & ~3u;
    u32 const shift = (reg & 3u) * 8;
    u32 const mask = (size == 4 ? 0xFFFFFFFFu : (1u << (size * 8)) - 1) << shift;
    u32 const old = registries().read_config(b, dword);
    registries().write_config(b, dword, (old & ~mask) | ((value << shift) & mask));
}

}  // namespace tv::pci
