// The functions the monitor found at boot, and BARs that MMIO hooks follow when the guest
// reprograms them.
#include "core/log.hpp"
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

// A write to a followed BAR: performed here, then the BAR is read back (the device keeps
// only the bits its size allows) and the hook moves if the device did.
ConfigAction bar_write(void* ctx, Vcpu& v, Bdf b, u16 reg, u8 size, bool write, u32* value) {
    if (!write) return ConfigAction::PassThrough;
    Follow& f = *static_cast<Follow*>(ctx);
    pci_config_write(b, reg, size, *value);
    u32 const lo = pci_config_read(b, f.bar.reg, 4);
    u32 const hi = f.bar.kind == BarKind::Mem64 ? pci_config_read(b, static_cast<u16>(f.bar.reg + 4), 4) : 0;
    u64 base;
    if (bar_moved(f.bar, mmio_hook_base(f.hook).raw, lo, hi, &base)) {
        Status const s = mmio_hook_move(v, f.hook, Gpa{base});
        if (!ok(s))
            log("pci: %02x:%02x.%u BAR at %#x moved to %#llx, but its MMIO hook cannot follow (status %u)", b.bus, b.dev,
                b.fn, f.bar.reg, static_cast<unsigned long long>(base), static_cast<unsigned>(s));
    }
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
    fl = Follow{b, info, hook};
    u16 const len = info.kind == BarKind::Mem64 ? 8 : 4;
    Device* const dev = mmio_hook_device(hook);
    if (!dev) return Status::Invalid;
    Status const s = pci_config_hook_register(*dev, b, info.reg, len, bar_write, &fl, "bar-follow");
    if (ok(s)) ++g_follow_count;
    return s;
}

}  // namespace tv::pci
