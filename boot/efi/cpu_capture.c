/* CPU state capture and bridge tables (see cpu_capture.h). */
#include "cpu_capture.h"

#include "handoff.h"

enum {
    MSR_SYSENTER_CS = 0x174,
    MSR_SYSENTER_ESP = 0x175,
    MSR_SYSENTER_EIP = 0x176,
    MSR_PAT = 0x277,
    MSR_EFER = 0xC0000080,
    MSR_STAR = 0xC0000081,
    MSR_LSTAR = 0xC0000082,
    MSR_CSTAR = 0xC0000083,
    MSR_SFMASK = 0xC0000084,
    MSR_FS_BASE = 0xC0000100,
    MSR_GS_BASE = 0xC0000101,
    MSR_KERNEL_GS_BASE = 0xC0000102,
};

#define CR4_LA57 (1ull << 12)
#define PTE_PRESENT_WRITE 0x3ull
#define PTE_LARGE 0x80ull
#define PAGE_MASK 0x000FFFFFFFFFF000ull

struct __attribute__((packed)) table_reg {
    uint16_t limit;
    uint64_t base;
};

static uint64_t rdmsr(uint32_t msr) {
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

#define READ_CR(n) ({ uint64_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
#define READ_SEL(insn) ({ uint16_t v_; __asm__ volatile(insn " %0" : "=r"(v_)); v_; })

char const *tv_capture_cpu(struct tv_uefi_cpu_state *c) {
    struct table_reg gdtr, idtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    __asm__ volatile("sidt %0" : "=m"(idtr));
    c->cr0 = READ_CR(0);
    c->cr3 = READ_CR(3);
    c->cr4 = READ_CR(4);
    c->efer = rdmsr(MSR_EFER);
    if (c->cr4 & CR4_LA57) return "the firmware uses five-level paging, which thinvisor does not support";
    c->gdtr.base = gdtr.base;
    c->gdtr.limit = gdtr.limit;
    c->idtr.base = idtr.base;
    c->idtr.limit = idtr.limit;

    uint16_t const sel[TV_SEG_COUNT] = {
        READ_SEL("mov %%es,"), READ_SEL("mov %%cs,"), READ_SEL("mov %%ss,"), READ_SEL("mov %%ds,"),
        READ_SEL("mov %%fs,"), READ_SEL("mov %%gs,"), READ_SEL("sldt"), READ_SEL("str")};
    for (int i = 0; i < TV_SEG_COUNT; ++i) {
        int const system = i == TV_SEG_LDTR || i == TV_SEG_TR;
        if (!tv_decode_segment((uint8_t const *)(uintptr_t)gdtr.base, gdtr.limit, sel[i], system, &c->seg[i]))
            return "a segment register names a descriptor outside the GDT";
    }
    /* In 64-bit mode the FS and GS bases live in MSRs, not in the descriptors. */
    c->seg[TV_SEG_FS].base = rdmsr(MSR_FS_BASE);
    c->seg[TV_SEG_GS].base = rdmsr(MSR_GS_BASE);
    c->kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
    c->pat = rdmsr(MSR_PAT);
    c->star = rdmsr(MSR_STAR);
    c->lstar = rdmsr(MSR_LSTAR);
    c->cstar = rdmsr(MSR_CSTAR);
    c->sfmask = rdmsr(MSR_SFMASK);
    c->sysenter_cs = rdmsr(MSR_SYSENTER_CS);
    c->sysenter_esp = rdmsr(MSR_SYSENTER_ESP);
    c->sysenter_eip = rdmsr(MSR_SYSENTER_EIP);
    return 0;
}

static unsigned index_of(uint64_t va, int level) { return (unsigned)((va >> (12 + 9 * level)) & 511); }

uint64_t tv_build_bridge(uint64_t *pages, uint64_t firmware_cr3, uint64_t region_base, uint64_t kernel_vma) {
    uint64_t *pml4 = pages, *pdpt = pages + 512, *pd = pages + 1024;
    uint64_t const *fw = (uint64_t const *)(uintptr_t)(firmware_cr3 & PAGE_MASK);
    uint64_t const window = kernel_vma + TV_UEFI_IMAGE_LOAD_PHYS;
    unsigned const first = index_of(window, 1), count = TV_UEFI_REGION_SIZE / TV_UEFI_REGION_ALIGN;
    if (fw[index_of(window, 3)] || first + count > 512) return 0;
    for (unsigned i = 0; i < 512; ++i) pml4[i] = fw[i];
    pml4[index_of(window, 3)] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT_WRITE;
    pdpt[index_of(window, 2)] = (uint64_t)(uintptr_t)pd | PTE_PRESENT_WRITE;
    for (unsigned i = 0; i < count; ++i)
        pd[first + i] = (region_base + (uint64_t)i * TV_UEFI_REGION_ALIGN) | PTE_PRESENT_WRITE | PTE_LARGE;
    return (uint64_t)(uintptr_t)pml4;
}
