// The monitor's explicit init order, after it has moved into its own region.
#include "core/main.hpp"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "core/arch/x86/cpu.hpp"
#include "core/arch/x86/descriptors.hpp"
#include "core/ap_boot.hpp"
#include "core/boot_info.hpp"
#include "core/canary.hpp"
#include "core/clock.hpp"
#include "core/config_load.hpp"
#include "core/device/guest_memory.hpp"
#include "core/device/ioapic_guard.hpp"
#include "core/disk_keys.hpp"
#include "core/dispatch.hpp"
#include "core/handlers/bios_services.hpp"
#include "core/handlers/boot_chain.hpp"
#include "core/handlers/hypercall.hpp"
#include "core/handlers/monitor_uart.hpp"
#include "core/handlers/power.hpp"
#include "core/hidden_memory.hpp"
#include "core/io_hooks.hpp"
#include "core/layout.hpp"
#include "core/log.hpp"
#include "core/machine.hpp"
#include "core/memory.hpp"
#include "core/mmio_hooks.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"
// The boot order names the bus, the fence and the driver registry; no mediator header is here.
#include "drivers/iommu/iommu.hpp"
#include "drivers/pci/pci_drivers.hpp"
#include "drivers/pci/pci_monitor.hpp"
#include "net/monitor.hpp"
#include "net/policy_fetch.hpp"
#include "storage/policy_boot.hpp"

extern "C" char __image_end[];

namespace tv {

namespace {

constinit Machine g_machine;
constexpr u64 kHeapSize = 8ull << 20;

// Nested tables take their pages from the monitor's allocator and reach them through the
// direct map.
class MonitorPageSource final : public PageSource {
  public:
    Status alloc_zeroed_page(Hpa* out) override {
        *out = alloc_pages(1);
        return out->raw ? Status::Ok : Status::NoMemory;
    }
    void* to_virt(Hpa h) override { return hpa_virt(h); }
};
MonitorPageSource g_page_source;

// Halting is the default: an OS that expects protection must not run without it unnoticed.
// `on_refusal=reset` (BIOS only, set by the package's GRUB entry when the administrator allows
// it, docs/install.md) resets instead, and GRUB's one-shot flag then boots the OS unprotected.
[[noreturn]] void refuse(char const* why) {
    console("thinvisor: refusing to start: %s.", why);
    char buf[16];
    char const* action = cmdline_value("on_refusal", buf, sizeof buf);
    if (action && strcmp(action, "reset") == 0 && boot_info().firmware != Firmware::Uefi) {
        console("thinvisor: on_refusal=reset: resetting in 10 s; the boot loader then boots the OS UNPROTECTED.");
        if (tsc_khz()) clock_delay_us(10'000'000);
        machine_reset("the monitor refused to start (on_refusal=reset)");
    }
    if (action && strcmp(action, "halt") != 0) console("thinvisor: on_refusal=%s is not halt or reset: halting.", action);
    console("thinvisor: the guest is NOT booted (it would run unprotected).");
    x86::halt_forever();
}

void check(Status s, char const* what) {
    if (!ok(s)) panic("%s failed (status %u)", what, static_cast<unsigned>(s));
}

// Modules live in memory the guest will own; keep private copies and wipe the originals.
void copy_modules(BootInfo& bi) {
    for (u32 i = 0; i < bi.module_count; ++i) {
        BootModule& m = bi.modules[i];
        u64 len = m.end - m.start;
        m.copy = malloc(len ? len : 1);
        if (!m.copy) panic("no heap for boot module %s (%llu bytes)", m.name, static_cast<unsigned long long>(len));
        memcpy(m.copy, phys_to_virt(m.start), len);
    }
    for (u32 i = 0; i < bi.module_count; ++i) {  // all copied first: a wipe never meets an uncopied module
        BootModule const& m = bi.modules[i];
        bool const wiped = wipe_module_original(m);
        log("boot: module '%s' (%llu bytes) at %#llx%s", m.name, static_cast<unsigned long long>(m.end - m.start),
            static_cast<unsigned long long>(m.start), wiped ? ", wiped there" : "");
    }
}

u8 boot_drive() {
    char buf[16];
    char const* v = cmdline_value("boot", buf, sizeof buf);
    if (!v) return 0x80;
    unsigned long d = strtoul(v, nullptr, 0);
    if (d > 0xFF) refuse("boot= must name a BIOS drive number such as 0x80");
    return static_cast<u8>(d);
}

// `selftest=panic` / `selftest=fault` on the command line exercise the panic paths, so a
// test can see that a monitor failure is reported with its reason and registers.
void run_selftest() {
    char buf[16];
    char const* t = cmdline_value("selftest", buf, sizeof buf);
    if (!t) return;
    if (strcmp(t, "panic") == 0) panic("selftest: deliberate panic");
    if (strcmp(t, "fault") == 0) asm volatile("ud2");
    refuse("unknown selftest= value");
}

// The one difference between the boot paths once the monitor runs. BIOS: the monitor
// answers the BIOS memory queries (INT 15h hook, base memory in the BDA) and boots the boot
// disk from a real-mode stub. UEFI: the firmware's own memory map already excludes the
// monitor (an EfiReservedMemoryType allocation), so nothing in guest memory is touched and
// the CPU resumes in the loader exactly as it handed over.
GuestStart guest_start(Machine& m, BootInfo const& bi) {
    if (bi.firmware == Firmware::Uefi) {
        LongModeStart const& c = bi.uefi_cpu;
        log("guest: resuming the UEFI loader at %#llx (cr3 %#llx, cs %#x, tr %#x attr %#x)",
            static_cast<unsigned long long>(c.rip), static_cast<unsigned long long>(c.cr3), c.cs.selector,
            c.tr.selector, c.tr.attr);
        return GuestStart::long_mode(bi.uefi_cpu);
    }
    RealModeStart rm{};
    bool intel = m.backend != svm_backend();
    check(bios_services_install(m.guest_map, boot_drive(), intel, &rm), "installing the BIOS memory hooks");
    boot_chain_mark();
    log("guest: booting BIOS drive %#x at %04x:%04x", rm.edx, rm.cs, rm.ip);
    return GuestStart::real_mode(rm);
}

void build_nested_tables(Machine& m) {
    m.nested.init(m.backend->nested_format(), &g_page_source, x86::cpuid(0x80000001).edx & (1u << 26));
    check(m.nested.create_root(), "nested page table root");
    u64 top = boot_info().firmware_map.top_of_ram();
    m.nested_limit = align_up(top > (4ull << 30) ? top : (4ull << 30), kHugePageSize);
    check(m.nested.map(Gpa{0}, Hpa{0}, m.nested_limit, Perm::RWX), "nested identity map");
    check(hidden_memory_init(monitor_region().base, monitor_region().size), "hiding the monitor region");
}

}  // namespace

Machine& machine() { return g_machine; }

VirtBackend* usable_backend(char* why, size_t n) {
    VirtBackend* b = select_backend();
    if (!b) {
        snprintf(why, n, "this CPU offers neither AMD-V (SVM) nor Intel VT-x");
        return nullptr;
    }
    return b->check_cpu(why, n) ? b : nullptr;
}

void monitor_main() {
    x86::descriptors_init_cpu(0);
    MonitorRegion const& region = monitor_region();
    memory_init(align_up(virt_to_phys(__image_end), kPageSize), monitor_tables_base());
    check(heap_init(kHeapSize), "monitor heap");
    log("thinvisor: running in its own region; %llu KiB free after heap",
        static_cast<unsigned long long>(free_page_count() * 4));
    run_selftest();
    clock_init();
    canary_init();  // before the mediators: they stamp their buffers with it
    BootInfo& bi = boot_info();
    copy_modules(bi);
    if (!config_load(bi)) refuse("thinvisor.conf is invalid (see the line above)");
    if (Config const* cfg = config(); cfg && !disk_keys_unlock(*cfg, bi))
        refuse("the disk keys could not be unlocked, so no disk would be readable");
    if (Config const* cfg = config(); cfg && !storage::load_boot_policy(*cfg, bi))
        refuse("the file-protection policy was refused (see the line above)");

    Machine& m = g_machine;
    char why[160];
    m.backend = usable_backend(why, sizeof why);
    if (!m.backend) refuse(why);
    log("cpu: using %s", m.backend->name());
    check(m.backend->enable_cpu(), "enabling virtualization");

    m.guest_map = bi.firmware_map;
    check(m.guest_map.set_type(region.base, region.size, MemType::Reserved), "carving the monitor region");
    check(guest_memory_init(bi.firmware_map), "the guest-memory rule");
    GuestStart const start = guest_start(m, bi);
    build_nested_tables(m);

    check(monitor_uart_hide(), "hiding the log port");
    check(power_hooks_install(), "power and reset hooks");
    check(hypercall_port_install(), "the hypercall port");
    // PCI: enumerated before the guest runs; mediators register MMIO and configuration
    // hooks next; the configuration ports are claimed last, once it is known whether any
    // configuration hook needs the data ports.
    check(mmio_init(&g_page_source), "the MMIO pass-through window");
    check(ioapic_guard_install(), "the IOAPIC guard");  // no INIT or SMI through redirection entries
    check(iommu::iommu_prepare(), "finding the IOMMU");  // hidden from the guest before it runs
    pci::pci_init();
    // The mediators, through the PCI driver registry (their order: drivers/pci/pci_drivers.cpp).
    check(pci::pci_drivers_attach(), "the PCI drivers");
    // Identity-mapped up to the top of RAM, and at least all of the low 4 GiB.
    u64 const dma_top = align_up(bi.firmware_map.top_of_ram() > (4ull << 30) ? bi.firmware_map.top_of_ram() : 4ull << 30,
                                 2ull << 20);
    check(iommu::iommu_enable(g_page_source, dma_top), "the IOMMU");
    check(pci::pci_ports_install(), "the PCI configuration ports");
    net::net_init();  // after the NIC mediators: it runs on their monitor port
    net::policy_fetch_start(bi);  // [policy] url: the first fetch before the guest runs
    io_hooks_apply(m.intercepts);
    m.backend->add_protected_msrs(m.intercepts);
    ap_boot_all(m);  // the APs wait in the monitor for the guest's own INIT/SIPI

    Vcpu* v = m.backend->create_vcpu(0, start, m.nested.root(), m.intercepts);
    if (!v) panic("could not create the boot vCPU");
    smp_attach_vcpu(*v, false);
    ap_release();
    vcpu_loop(*v);
}

}  // namespace tv
