/* thinvisor's UEFI loader (GNU-EFI application; installed as \EFI\BOOT\BOOTX64.EFI or
 * \EFI\thinvisor\thinvisor.efi by tools/thinvisor-install-efi).
 *
 * From its own partition it reads \EFI\thinvisor\loader.conf, the monitor image and the
 * boot modules, copies the image into a 32 MiB EfiReservedMemoryType region (so no OS
 * ever takes it as RAM) and hands the running CPU to the monitor (cpu_capture.h). The
 * monitor virtualizes the CPU in place: the call "returns" as the monitor's guest, and
 * this same program carries on chaining to the next loader, now under thinvisor.
 *
 * Every failure before the hand-over frees what was taken and returns an error status, so
 * the firmware tries its next boot entry; a missing next loader does the same afterwards
 * (the firmware, and whatever it boots next, then run under the monitor). */
#include <efi.h>
#include <efilib.h>

#include "cpu_capture.h"
#include "efi_io.h"
#include "elf_image.h"
#include "handoff.h"
#include "loader_conf.h"

#define CONF_PATH "\\EFI\\thinvisor\\loader.conf"
#define MAX_CONF_SIZE (64u << 10)
#define MAX_MONITOR_SIZE (64u << 20)
#define MAX_MODULE_SIZE (4u << 20) /* the monitor keeps copies on its 8 MiB heap */
#define PAGE_SIZE 4096u
#define REGION_PAGES (TV_UEFI_REGION_SIZE / PAGE_SIZE)
#define ALIGN_PAGES (TV_UEFI_REGION_ALIGN / PAGE_SIZE)

_Static_assert(TV_CONF_CMDLINE_LEN == TV_UEFI_CMDLINE_LEN && TV_CONF_MAX_MODULES == TV_UEFI_MAX_MODULES &&
                   TV_CONF_MODULE_NAME_LEN == TV_UEFI_MODULE_NAME_LEN,
               "loader.conf accepts exactly what the hand-off can carry");

struct loader {
    EFI_HANDLE image;
    EFI_HANDLE device;  /* the partition this program was loaded from */
    EFI_FILE_HANDLE root;
    struct tv_loader_conf conf;
    VOID *elf;
    UINTN elf_size;
    VOID *module[TV_UEFI_MAX_MODULES];
    UINTN module_size[TV_UEFI_MAX_MODULES];
    EFI_PHYSICAL_ADDRESS region; /* 0: not allocated */
    EFI_PHYSICAL_ADDRESS bridge;
    struct tv_uefi_handoff *handoff;
};

static struct loader g_loader; /* large (the config); zero-initialized, no constructors */

static EFI_STATUS open_partition(struct loader *l) {
    EFI_LOADED_IMAGE *self = NULL;
    EFI_STATUS s = BS->HandleProtocol(l->image, &LoadedImageProtocol, (VOID **)&self);
    if (EFI_ERROR(s)) return s;
    l->device = self->DeviceHandle;
    l->root = LibOpenRoot(l->device);
    if (!l->root) {
        Print(L"thinvisor: cannot open the file system of the partition it was loaded from\n");
        return EFI_UNSUPPORTED;
    }
    return EFI_SUCCESS;
}

static EFI_STATUS read_config(struct loader *l) {
    VOID *text = NULL;
    UINTN size = 0;
    EFI_STATUS s = tv_read_file(l->root, CONF_PATH, MAX_CONF_SIZE, &text, &size);
    if (EFI_ERROR(s)) {
        Print(L"thinvisor: cannot read %a: %r\n", CONF_PATH, s);
        return s;
    }
    char err[TV_CONF_ERROR_LEN];
    int const good = tv_conf_parse(text, size, &l->conf, err, sizeof err);
    tv_pool_free(text);
    if (!good) {
        Print(L"thinvisor: %a: %a\n", CONF_PATH, err);
        return EFI_INVALID_PARAMETER;
    }
    return EFI_SUCCESS;
}

/* Reads and checks the monitor image; it is copied into the region later. */
static EFI_STATUS read_monitor(struct loader *l, struct tv_elf_plan *plan) {
    EFI_STATUS s = tv_read_file(l->root, l->conf.monitor, MAX_MONITOR_SIZE, &l->elf, &l->elf_size);
    if (EFI_ERROR(s)) {
        Print(L"thinvisor: cannot read the monitor %a: %r\n", l->conf.monitor, s);
        return s;
    }
    char const *why = tv_elf_check(l->elf, l->elf_size, TV_UEFI_REGION_SIZE, plan);
    if (why) {
        Print(L"thinvisor: %a is not a usable thinvisor monitor: %a\n", l->conf.monitor, why);
        return EFI_LOAD_ERROR;
    }
    return EFI_SUCCESS;
}

static EFI_STATUS read_modules(struct loader *l) {
    for (unsigned i = 0; i < l->conf.module_count; ++i) {
        EFI_STATUS s = tv_read_file(l->root, l->conf.modules[i], MAX_MODULE_SIZE, &l->module[i], &l->module_size[i]);
        if (EFI_ERROR(s)) {
            Print(L"thinvisor: cannot read the module %a: %r\n", l->conf.modules[i], s);
            return s;
        }
    }
    return EFI_SUCCESS;
}

/* 32 MiB, 2 MiB aligned: take 34 MiB anywhere and give back both unaligned ends. */
static EFI_STATUS allocate_region(struct loader *l) {
    UINTN const pages = REGION_PAGES + ALIGN_PAGES;
    EFI_PHYSICAL_ADDRESS got = 0;
    EFI_STATUS s = tv_pages_alloc(EfiReservedMemoryType, pages, &got);
    if (EFI_ERROR(s)) {
        Print(L"thinvisor: cannot reserve 32 MiB for the monitor: %r\n", s);
        return s;
    }
    EFI_PHYSICAL_ADDRESS const base = (got + TV_UEFI_REGION_ALIGN - 1) & ~(EFI_PHYSICAL_ADDRESS)(TV_UEFI_REGION_ALIGN - 1);
    UINTN const head = (UINTN)((base - got) / PAGE_SIZE), tail = pages - head - REGION_PAGES;
    if (head) BS->FreePages(got, head);
    if (tail) BS->FreePages(base + TV_UEFI_REGION_SIZE, tail);
    l->region = base;
    return EFI_SUCCESS;
}

static EFI_STATUS add_memory_map(struct tv_uefi_handoff *h) {
    UINTN entries, key, desc_size;
    UINT32 version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &version);
    if (!map) return EFI_OUT_OF_RESOURCES;
    EFI_STATUS s = EFI_SUCCESS;
    for (UINTN i = 0; i < entries && !EFI_ERROR(s); ++i) {
        EFI_MEMORY_DESCRIPTOR const *d = (EFI_MEMORY_DESCRIPTOR const *)((UINT8 const *)map + i * desc_size);
        if (!tv_memmap_append(h, d->PhysicalStart, d->NumberOfPages * PAGE_SIZE, tv_efi_to_e820(d->Type)))
            s = EFI_BUFFER_TOO_SMALL;
    }
    FreePool(map);
    if (EFI_ERROR(s)) Print(L"thinvisor: the firmware's memory map has more than %d distinct ranges\n", TV_UEFI_MAX_MEMMAP);
    return s;
}

static VOID copy_string(char *dst, UINTN cap, char const *src) {
    UINTN i = 0;
    for (; i + 1 < cap && src[i]; ++i) dst[i] = src[i];
    dst[i] = 0;
}

static EFI_STATUS fill_handoff(struct loader *l, struct tv_uefi_handoff *h) {
    h->magic = TV_UEFI_HANDOFF_MAGIC;
    h->version = TV_UEFI_ABI_VERSION;
    h->size = sizeof *h;
    h->region_base = l->region;
    h->region_size = TV_UEFI_REGION_SIZE;
    VOID *rsdp = NULL;
    EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
    if (EFI_ERROR(LibGetSystemConfigurationTable(&acpi20, &rsdp))) LibGetSystemConfigurationTable(&acpi10, &rsdp);
    h->acpi_rsdp = (UINT64)(UINTN)rsdp;
    h->system_table = (UINT64)(UINTN)ST;
    copy_string(h->cmdline, sizeof h->cmdline, l->conf.cmdline);
    for (unsigned i = 0; i < l->conf.module_count; ++i) {
        struct tv_uefi_module *m = &h->modules[h->module_count++];
        m->start = (UINT64)(UINTN)l->module[i];
        m->end = m->start + l->module_size[i];
        copy_string(m->name, sizeof m->name, tv_conf_basename(l->conf.modules[i]));
    }
    char const *why = tv_capture_cpu(&h->cpu);
    if (why) {
        Print(L"thinvisor: cannot hand this CPU over: %a\n", why);
        return EFI_UNSUPPORTED;
    }
    return add_memory_map(h); /* last: every allocation above is in it */
}

static char const *refusal_text(UINT64 status) {
    switch (status) {
        case TV_UEFI_REFUSED_HANDOFF: return "it did not accept the hand-off";
        case TV_UEFI_REFUSED_CPU: return "this CPU cannot run the guest protected";
        case TV_UEFI_REFUSED_IMAGE: return "its image is unusable";
        default: return "unknown reason";
    }
}

/* Builds the hand-off and the bridge tables and calls the monitor. */
static EFI_STATUS enter_monitor(struct loader *l, struct tv_elf_plan const *plan) {
    l->handoff = tv_pool_alloc(sizeof *l->handoff);
    EFI_STATUS s = l->handoff ? tv_pages_alloc(EfiLoaderData, TV_BRIDGE_PAGES, &l->bridge) : EFI_OUT_OF_RESOURCES;
    if (EFI_ERROR(s)) return s;
    SetMem(l->handoff, sizeof *l->handoff, 0);
    SetMem((VOID *)(UINTN)l->bridge, TV_BRIDGE_PAGES * PAGE_SIZE, 0);
    Print(L"thinvisor: starting the monitor at %lx (32 MiB reserved)\n", l->region);
    s = fill_handoff(l, l->handoff); /* nothing but the trampoline runs after the capture */
    if (EFI_ERROR(s)) return s;
    UINT64 const cr3 = tv_build_bridge((UINT64 *)(UINTN)l->bridge, l->handoff->cpu.cr3, l->region, plan->kernel_vma);
    if (!cr3) {
        Print(L"thinvisor: the firmware's page tables already use the monitor's address window\n");
        return EFI_UNSUPPORTED;
    }
    UINT64 const refused = tv_efi_enter(l->handoff, cr3, plan->entry, &l->handoff->cpu.rip);
    if (refused) {
        Print(L"thinvisor: the monitor refused to start: %a (see its message above)\n", refusal_text(refused));
        return EFI_UNSUPPORTED;
    }
    return EFI_SUCCESS;
}

static EFI_STATUS start_monitor(struct loader *l) {
    struct tv_elf_plan plan;
    EFI_STATUS s = open_partition(l);
    if (!EFI_ERROR(s)) s = read_config(l);
    if (!EFI_ERROR(s)) s = read_monitor(l, &plan);
    if (!EFI_ERROR(s)) s = read_modules(l);
    if (!EFI_ERROR(s)) s = allocate_region(l);
    if (EFI_ERROR(s)) return s;
    tv_elf_copy(l->elf, &plan, (VOID *)(UINTN)l->region);
    tv_pool_free(l->elf);
    l->elf = NULL;
    return enter_monitor(l, &plan);
}

/* Gives back what start_monitor took; the region too unless the monitor runs in it. */
static VOID release(struct loader *l, BOOLEAN monitor_running) {
    tv_pool_free(l->elf);
    /* The monitor wipes the originals once it has copied them; a monitor that never ran
     * (or refused) did not, and the firmware hands freed pool to the next OS as RAM. */
    for (unsigned i = 0; i < TV_UEFI_MAX_MODULES; ++i) tv_pool_free_wiped(l->module[i], l->module_size[i]);
    tv_pool_free(l->handoff);
    if (l->bridge) tv_pages_free(l->bridge, TV_BRIDGE_PAGES);
    if (l->region && !monitor_running) tv_pages_free(l->region, REGION_PAGES);
    if (l->root) l->root->Close(l->root);
    l->elf = NULL;
    SetMem(l->module, sizeof l->module, 0);
    SetMem(l->module_size, sizeof l->module_size, 0);
    l->handoff = NULL;
    l->bridge = 0;
    l->root = NULL;
}

/* Chains to the configured loader, e.g. GRUB or a Linux EFI-stub kernel. */
static EFI_STATUS boot_next(struct loader *l) {
    if (!l->conf.next[0]) {
        Print(L"thinvisor: no next loader configured (loader.conf 'next'); returning to the firmware, "
              L"which tries its next boot entry under thinvisor\n");
        return EFI_NOT_STARTED;
    }
    CHAR16 *path = tv_ucs2(l->conf.next, NULL);
    EFI_DEVICE_PATH *dp = path ? FileDevicePath(l->device, path) : NULL;
    tv_pool_free(path);
    if (!dp) return EFI_OUT_OF_RESOURCES;
    EFI_HANDLE child = NULL;
    EFI_STATUS s = BS->LoadImage(FALSE, l->image, dp, NULL, 0, &child);
    FreePool(dp);
    if (EFI_ERROR(s)) {
        Print(L"thinvisor: cannot load the next loader %a from this partition: %r; returning to the firmware, "
              L"which tries its next boot entry under thinvisor\n", l->conf.next, s);
        return s;
    }
    EFI_LOADED_IMAGE *li = NULL;
    if (l->conf.next_options[0] && !EFI_ERROR(BS->HandleProtocol(child, &LoadedImageProtocol, (VOID **)&li))) {
        UINTN bytes = 0;
        li->LoadOptions = tv_ucs2(l->conf.next_options, &bytes); /* lives as long as the child */
        li->LoadOptionsSize = li->LoadOptions ? (UINT32)bytes : 0;
    }
    Print(L"thinvisor: starting %a\n", l->conf.next);
    s = BS->StartImage(child, NULL, NULL);
    Print(L"thinvisor: %a returned: %r\n", l->conf.next, s);
    return s;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *system_table) {
    InitializeLib(image, system_table);
    struct loader *l = &g_loader;
    l->image = image;
    Print(L"thinvisor: UEFI loader\n");
#ifdef TV_BENCH_NO_MONITOR
    /* The bench peer (tests/bench/uefi_bench.py): this loader without the monitor, so that
     * a measurement differs only by thinvisor itself. Built separately, never installed. */
    EFI_STATUS const peer = open_partition(l);
    if (!EFI_ERROR(peer) && !EFI_ERROR(read_config(l))) return boot_next(l);
    return EFI_ERROR(peer) ? peer : EFI_INVALID_PARAMETER;
#endif
    UINT64 const reserved_before = tv_reserved_pages();
    EFI_STATUS s = start_monitor(l);
    if (EFI_ERROR(s)) {
        release(l, FALSE);
        UINT64 const reserved_after = tv_reserved_pages();
        if (tv_outstanding || reserved_after != reserved_before)
            Print(L"thinvisor: WARNING: %d allocations still held, reserved memory %ld -> %ld KiB\n", tv_outstanding,
                  reserved_before * 4, reserved_after * 4);
        else
            Print(L"thinvisor: released everything it allocated (reserved memory back to %ld KiB)\n",
                  reserved_after * 4);
        Print(L"thinvisor: not started (%r); returning to the firmware\n", s);
        return s;
    }
    /* From here on this program runs as the monitor's guest. */
    release(l, TRUE);
    Print(L"thinvisor: monitor running at %lx-%lx; the boot continues under it\n", l->region,
          l->region + TV_UEFI_REGION_SIZE);
    return boot_next(l);
}
