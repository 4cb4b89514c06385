// The functions the monitor found at boot, and BARs that MMIO hooks follow when the guest
// reprograms them.
#include <stdio.h>

#include "core/log.hpp"
#include "core/log_limit.hpp"
#include "drivers/pci/bar_plan.hpp"
#include "drivers/pci/pci_monitor.hpp"

namespace tv::pci {

namespace {

constexpr size_t kMaxFunctions = 64;
constexpr size_t kMaxFollows = 8;

// The monitor's dword view of configuration space, for the enumeration.
class PortConfigSpace final : public ConfigSpace {
  public:
    u32 read32(Bdf b, u16 reg) override { return pci_config_read(b, reg, 4); }
    void write32(Bdf b, u16 reg, u32 value) override { pci_config_write(b, reg, 4, value); }
};

Function g_functions[kMaxFunctions];
size_t g_function_count;

struct Follow {
    Bdf bdf;
    Bar bar;
    MmioHookId hook;
    bool sizing_lo, sizing_hi;  // the guest sizes that half: the monitor answers, the device keeps its BAR
    bool lo_held;               // a Mem64 lower half the hook could not follow alone, until the upper half comes
    u32 held_lo;
};
Follow g_follows[kMaxFollows];
size_t g_follow_count;

char const* kind_name(BarKind k) {
    switch (k) {
        case BarKind::Io: return "io";
        case BarKind::Mem32: return "mem32";
        case BarKind::Mem64: return "mem64";
        case BarKind::None: break;
    }
    return "-";
}

void log_function(Function const& f) {
    log("pci: %02x:%02x.%u %04x:%04x class %02x.%02x.%02x", f.bdf.bus, f.bdf.dev, f.bdf.fn, f.vendor, f.device,
        f.class_code, f.subclass, f.prog_if);
    for (u8 i = 0; i < f.bar_count; ++i) {
        Bar const& b = f.bars[i];
        if (b.kind == BarKind::None) continue;
        log("pci:   BAR%u %s %#llx size %#llx%s", i, kind_name(b.kind), static_cast<unsigned long long>(b.base),
            static_cast<unsigned long long>(b.size), b.prefetchable ? " prefetchable" : "");
    }
}


BarRegs device_regs(Follow const& f) {
    u32 const lo = pci_config_read(f.bdf, f.bar.reg, 4);
    u32 const hi = f.bar.kind == BarKind::Mem64 ? pci_config_read(f.bdf, static_cast<u16>(f.bar.reg + 4), 4) : 0;
    return BarRegs{lo, hi};
}

struct DeviceWrite {
    Follow* f;
    BarRegs regs;
};

void write_device(void* ctx) {
    auto const& w = *static_cast<DeviceWrite*>(ctx);
    pci_config_write(w.f->bdf, w.f->bar.reg, 4, w.regs.lo);
    if (w.f->bar.kind == BarKind::Mem64) pci_config_write(w.f->bdf, static_cast<u16>(w.f->bar.reg + 4), 4, w.regs.hi);
}

void log_refusal(Follow const& f, u64 base, char const* why) {
    char device[24];
    snprintf(device, sizeof device, "pci %02x:%02x.%u BAR %#x", f.bdf.bus, f.bdf.dev, f.bdf.fn, f.bar.reg);
    if (log_limit_allow(device, why))
        log("pci: %02x:%02x.%u BAR at %#x: move to %#llx refused (%s); the device stays at %#llx", f.bdf.bus,
            f.bdf.dev, f.bdf.fn, f.bar.reg, static_cast<unsigned long long>(base), why,
            static_cast<unsigned long long>(mmio_hook_base(f.hook).raw));
}

char const* move_refusal(Status s) {
    switch (s) {
        case Status::Refused: return "it would cover monitor memory";
        case Status::Exists: return "it would overlap another hooked device";
        case Status::Unsupported: return "the hook cannot follow there";
        default: return "the hook cannot follow";
    }
}

// A write to a followed BAR, decided before the device sees it (bar_plan.hpp): the device
// holds a base only once its hook is there, so the guest never reaches it unmediated. A
// sizing write is answered by the monitor. A refused move leaves the device where it was.
void bar_store(Follow& f, Vcpu& v, u16 reg, u8 size, u32 value) {
    BarRegs cur = device_regs(f);
    if (f.lo_held) cur.lo = f.held_lo;
    BarWritePlan const p = plan_bar_write(f.bar, cur, mmio_hook_base(f.hook).raw, reg, size, value);
    if (p.kind == BarWriteKind::Sizing) {
        (p.upper ? f.sizing_hi : f.sizing_lo) = true;
        return;
    }
    (p.upper ? f.sizing_hi : f.sizing_lo) = false;
    f.lo_held = false;
    DeviceWrite w{&f, p.regs};
    if (p.kind == BarWriteKind::Same) {
        write_device(&w);
        return;
    }
    Status const s = p.kind == BarWriteKind::Unplaced ? Status::Invalid : mmio_hook_move(v, f.hook, Gpa{p.base}, write_device, &w);
    if (ok(s)) return;
    if (f.bar.kind == BarKind::Mem64 && !p.upper) {  // e.g. the first half of a move above 4 GiB
        f.lo_held = true;
        f.held_lo = p.regs.lo;
        return;
    }
    log_refusal(f, p.base, p.kind == BarWriteKind::Unplaced ? "base 0" : move_refusal(s));
}

// Runs under the hook's device lock (pci_bar_follow registers it with that device).
ConfigAction bar_write(void* ctx, Vcpu& v, Bdf, u16 reg, u8 size, bool write, u32* value) {
    Follow& f = *static_cast<Follow*>(ctx);
    if (write) {
        bar_store(f, v, reg, size, *value);
        return ConfigAction::Handled;
    }
    bool const upper = reg >= f.bar.reg + 4;
    if (!(upper ? f.sizing_hi : f.sizing_lo) && (upper || !f.lo_held)) return ConfigAction::PassThrough;
    u16 const dword = reg & ~3u;
    BarRegs const cur = device_regs(f);
    u32 const d = (upper ? f.sizing_hi : f.sizing_lo) ? bar_sizing_answer(f.bar, cur, dword) : f.held_lo;
    u32 const shift = (reg & 3u) * 8;
    *value = (d >> shift) & (size == 4 ? 0xFFFFFFFFu : size == 2 ? 0xFFFFu : 0xFFu);
    return ConfigAction::Handled;
}

}  // namespace

void pci_init() {
    PortConfigSpace cs;
    if (!ok(enumerate(cs, g_functions, kMaxFunctions, &g_function_count)))
        log("pci: more than %u functions; the rest are not known to the monitor", static_cast<unsigned>(kMaxFunctions));
    log("pci: %u functions", static_cast<unsigned>(g_function_count));
    for (size_t i = 0; i < g_function_count; ++i) log_function(g_functions[i]);
}

Function const* pci_functions(size_t* count) {
    *count = g_function_count;
    return g_functions;
}

Function const* pci_find_class(u8 class_code, u8 subclass, u8 prog_if) {
    for (size_t i = 0; i < g_function_count; ++i) {
        Function const& f = g_functions[i];
        if (f.class_code == class_code && f.subclass == subclass && (prog_if == 0xFF || f.prog_if == prog_if)) return &f;
    }
    return nullptr;
}

Function const* pci_find_id(u16 vendor, u16 device) {
    for (size_t i = 0; i < g_function_count; ++i)
        if (g_functions[i].vendor == vendor && g_functions[i].device == device) return &g_functions[i];
    return nullptr;
}

Status pci_bar_follow(Bdf b, u8 bar, MmioHookId hook) {
    Function const* f = nullptr;
    for (size_t i = 0; i < g_function_count && !f; ++i)
        if (g_functions[i].bdf == b) f = &g_functions[i];
    if (!f || bar >= f->bar_count) return Status::NotFound;
    Bar const& info = f->bars[bar];
    if (info.kind != BarKind::Mem32 && info.kind != BarKind::Mem64) return Status::Invalid;
    if (g_follow_count == kMaxFollows) return Status::NoMemory;
    Follow& fl = g_follows[g_follow_count];
    fl = Follow{b, info, hook, false, false, false, 0};
    u16 const len = info.kind == BarKind::Mem64 ? 8 : 4;
    Device* const dev = mmio_hook_device(hook);
    if (!dev) return Status::Invalid;
    Status const s = pci_config_hook_register(*dev, b, info.reg, len, bar_write, &fl, "bar-follow");
    if (ok(s)) ++g_follow_count;
    return s;
}

}  // namespace tv::pci
