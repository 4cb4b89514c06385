/* MSRs the guest must not write (issue 12, item 5), hypercalls from user mode (item 11), the
 * keyslot files left in guest RAM (item 10), a scan of all guest RAM for canary bytes that any
 * earlier attack may have pulled in, and the BIOS-services writes (item 8). */
#define _GNU_SOURCE
#include <cpuid.h>
#include <elf.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "thinvisor/hypercall.h"
#include "tva.h"

/* Writes v to each MSR and reads it back; a write that sticks is a breach. The old value is
 * put back at once. */
static void msr_attack(const char *name, const uint32_t *msrs, const uint64_t *flips, int n)
{
    char took[256] = "";
    int refused = 0, stuck = 0;
    for (int i = 0; i < n; i++) {
        uint64_t old = 0, now = 0;
        int readable = msr_read(0, msrs[i], &old) == 0;
        if (msr_write(0, msrs[i], old ^ flips[i]) < 0) {
            refused++;
            continue;
        }
        msr_read(0, msrs[i], &now);
        if (readable && now != old) {
            stuck++;
            size_t l = strlen(took);
            snprintf(took + l, sizeof took - l, " %#x:%#llx->%#llx", msrs[i], (unsigned long long)old,
                     (unsigned long long)now);
        }
        msr_write(0, msrs[i], old);
    }
    if (stuck)
        breach(name, "%d MSR writes took effect:%s", stuck, took);
    else
        defended(name, "%d of %d writes refused (#GP), the rest did not change the MSR (QEMU ignores the MSRs it "
                       "does not implement)", refused, n);
}

static void msr_amd_memory_map(const char *name)
{
    /* SYSCFG, TOP_MEM, TOM2, MMIO_CFG_BASE */
    static const uint32_t m[] = {0xc0010010, 0xc001001a, 0xc001001d, 0xc0010058};
    static const uint64_t f[] = {1ull << 18, 1ull << 23, 1ull << 32, 1ull << 0};
    msr_attack(name, m, f, 4);
}

static void msr_hwcr_microcode(const char *name)
{
    static const uint32_t m[] = {0xc0010015, 0xc0010020}; /* HWCR, PATCH_LOADER */
    static const uint64_t f[] = {1ull << 0, 0x1000};
    msr_attack(name, m, f, 2);
}

/* The MTRRs may be written (the policy checks them): a breach is a type other than WB or UC
 * over the monitor's region, here write-combining through a variable pair and as the default. */
static void msr_mtrr(const char *name)
{
    uint64_t cap = 0, ob = 0, om = 0, od = 0, b = 0, m = 0, d = 0;
    unsigned a = 0, bx = 0, c = 0, dx = 0;
    __get_cpuid(0x80000008, &a, &bx, &c, &dx);
    uint64_t phys = ((1ull << (a & 0xff)) - 1) & ~0xfffull;
    msr_read(0, 0xfe, &cap);
    uint32_t pair = 0x200 + 2 * ((uint32_t)(cap & 0xff) ? (uint32_t)(cap & 0xff) - 1 : 0);
    msr_read(0, pair, &ob);
    msr_read(0, pair + 1, &om);
    msr_read(0, 0x2ff, &od);
    int wb = msr_write(0, pair, T.region | 1);
    int wm = msr_write(0, pair + 1, (phys & ~(T.region_size - 1)) | 1ull << 11);
    msr_read(0, pair, &b);
    msr_read(0, pair + 1, &m);
    msr_write(0, pair + 1, om);
    msr_write(0, pair, ob);
    int wd = msr_write(0, 0x2ff, (od & ~0xffull) | 1ull << 11 | 1);
    msr_read(0, 0x2ff, &d);
    msr_write(0, 0x2ff, od);
    int pair_wc = wb == 0 && wm == 0 && (b & 0xff) == 1 && (m >> 11 & 1);
    int def_wc = wd == 0 && (d & 0xff) == 1;
    if (pair_wc || def_wc)
        breach(name, "write-combining over the monitor's region took:%s%s", pair_wc ? " a variable MTRR pair" : "",
               def_wc ? " the default type" : "");
    else
        defended(name, "write-combining over the region refused (pair %s/%s, default %s)", wb ? "#GP" : "kept",
                 wm ? "#GP" : "kept", wd ? "#GP" : "kept");
}

static void msr_svm_state(const char *name)
{
    static const uint32_t m[] = {0xc0010114, 0xc0010117}; /* VM_CR, VM_HSAVE_PA */
    static const uint64_t f[] = {1ull << 4, 0x1000};
    msr_attack(name, m, f, 2);
}

/* Intel's counterparts, for VT-x: IA32_FEATURE_CONTROL (locked; unlocked, VMX could be turned on
 * for the guest), IA32_BIOS_UPDT_TRIG (loads microcode from a guest address) and the microcode
 * revision (only 0 may be written, to start the revision protocol). Any accepted write is a
 * breach, whether or not it reads back: the trigger MSR cannot be read at all. */
static void msr_intel_controls(const char *name)
{
    static const struct {
        uint32_t msr;
        uint64_t value;
    } w[] = {{0x3a, 0x5 /* locked, VMX on outside SMX */}, {0x79, 0x1000}, {0x8b, 0x4100000000ull}};
    char took[160] = "";
    int refused = 0;
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        uint64_t old = 0;
        int readable = msr_read(0, w[i].msr, &old) == 0;
        if (msr_write(0, w[i].msr, w[i].value) < 0) {
            refused++;
            continue;
        }
        size_t l = strlen(took);
        snprintf(took + l, sizeof took - l, " %#x<-%#llx", w[i].msr, (unsigned long long)w[i].value);
        if (readable)
            msr_write(0, w[i].msr, old);
    }
    if (refused != (int)(sizeof w / sizeof w[0]))
        breach(name, "writes accepted:%s", took);
    else
        defended(name, "feature control, the microcode trigger and a non-zero microcode revision: all %d writes "
                       "refused (#GP)", refused);
}

static sigjmp_buf ill_jmp;
static void on_ill(int sig)
{
    (void)sig;
    siglongjmp(ill_jmp, 1);
}

/* The log-read hypercall from CPL 3 (any process). */
static void hypercall_user_log(const char *name)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    __get_cpuid(0, &a, &b, &c, &d);
    static int amd;
    amd = b == 0x68747541; /* "Auth" */
    static volatile uint64_t rax, rbx, rcx, rdx, rsi, rdi;
    signal(SIGILL, on_ill);
    signal(SIGSEGV, on_ill);
    if (sigsetjmp(ill_jmp, 1)) {
        signal(SIGILL, SIG_DFL);
        signal(SIGSEGV, SIG_DFL);
        defended(name, "the hypercall faulted in user mode");
        return;
    }
    uint64_t A = TV_HC_MAGIC | TV_HC_LOG_STATE, B = 0, C = 0, D = 0, S = 0, DI = 0;
    if (amd)
        __asm__ volatile(".byte 0x0f,0x01,0xd9" : "+a"(A), "+b"(B), "+c"(C), "+d"(D), "+S"(S), "+D"(DI)::"memory");
    else
        __asm__ volatile(".byte 0x0f,0x01,0xc1" : "+a"(A), "+b"(B), "+c"(C), "+d"(D), "+S"(S), "+D"(DI)::"memory");
    uint64_t total = B, cap = C;
    uint64_t off = total > cap ? total - cap : 0;
    A = TV_HC_MAGIC | TV_HC_LOG_READ, B = off, C = D = S = DI = 0;
    if (amd)
        __asm__ volatile(".byte 0x0f,0x01,0xd9" : "+a"(A), "+b"(B), "+c"(C), "+d"(D), "+S"(S), "+D"(DI)::"memory");
    else
        __asm__ volatile(".byte 0x0f,0x01,0xc1" : "+a"(A), "+b"(B), "+c"(C), "+d"(D), "+S"(S), "+D"(DI)::"memory");
    rax = A, rbx = B, rcx = C, rdx = D, rsi = S, rdi = DI;
    signal(SIGILL, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    if (rax == TV_HC_OK && rbx > 0) {
        char text[33] = {0};
        uint64_t w[4] = {rcx, rdx, rsi, rdi};
        memcpy(text, w, 32);
        for (int i = 0; i < 32; i++)
            if (text[i] && (text[i] < 32 || text[i] > 126))
                text[i] = '.';
        breach(name, "user mode read %llu of %llu log bytes: \"%s\"", (unsigned long long)rbx,
               (unsigned long long)total, text);
    } else
        defended(name, "refused in user mode (status %llu)", (unsigned long long)rax);
}

/* One pass over guest RAM through /proc/kcore's direct-map segments. */
static int scanned = -1;
static uint64_t keyslot_at = ~0ull, canary_at = ~0ull, scanned_bytes;

static void scan_ram(void)
{
    if (scanned >= 0)
        return;
    scanned = 0;
    int fd = open("/proc/kcore", O_RDONLY);
    Elf64_Ehdr eh;
    if (fd < 0 || pread(fd, &eh, sizeof eh, 0) != sizeof eh)
        return;
    static uint8_t chunk[1 << 20];
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * sizeof ph)) != sizeof ph)
            continue;
        if (ph.p_type != PT_LOAD || ph.p_paddr == ~0ull || ph.p_vaddr >= 0xffffffff80000000ull)
            continue;
        for (uint64_t o = 0; o < ph.p_memsz; o += sizeof chunk - 8) {
            size_t n = (size_t)(ph.p_memsz - o < sizeof chunk ? ph.p_memsz - o : sizeof chunk);
            ssize_t got = pread(fd, chunk, n, (off_t)(ph.p_offset + o));
            if (got <= 0)
                break;
            scanned_bytes += (uint64_t)got;
            if (keyslot_at == ~0ull && has_keyslot_magic(chunk, (size_t)got))
                keyslot_at = ph.p_paddr + o;
            if (canary_at == ~0ull && has_canary_prefix(chunk, (size_t)got))
                canary_at = ph.p_paddr + o;
        }
    }
    close(fd);
    scanned = 1;
}

static void keyslot_scan(const char *name)
{
    scan_ram();
    if (!scanned)
        skipped(name, "cannot read /proc/kcore");
    else if (keyslot_at != ~0ull)
        breach(name, "a keyslot file's magic is in guest RAM near %#llx (%llu MiB scanned)",
               (unsigned long long)keyslot_at, (unsigned long long)(scanned_bytes >> 20));
    else
        defended(name, "no keyslot magic in %llu MiB of guest RAM", (unsigned long long)(scanned_bytes >> 20));
}

static void ram_canary_scan(const char *name)
{
    scan_ram();
    if (!scanned)
        skipped(name, "cannot read /proc/kcore");
    else if (canary_at != ~0ull)
        breach(name, "canary bytes are in guest RAM near %#llx", (unsigned long long)canary_at);
    else
        defended(name, "no canary prefix in %llu MiB of guest RAM after every attack",
                 (unsigned long long)(scanned_bytes >> 20));
}

static void bios_services_write(const char *name)
{
    skipped(name, "the BIOS-services hypercall answers only the real-mode stub (CR0.PE clear, CS = the stub): "
                  "a real-mode attacker's job, done by bochs_rmattack's bios-e820-unreal under VT-x (Bochs) and "
                  "AMD-V (QEMU, attack-rm-amdv)");
}

/* First in the boot: the keyslot files were put in guest RAM by the boot loader, and the
 * guest's own use of RAM may overwrite them later. */
const struct attack first_attacks[] = {
    {"keyslot-scan", keyslot_scan},
    {NULL, NULL},
};

const struct attack misc_attacks[] = {
    {"msr-amd-memory-map", msr_amd_memory_map},
    {"msr-hwcr-microcode", msr_hwcr_microcode},
    {"msr-mtrr", msr_mtrr},
    {"msr-svm-state", msr_svm_state},
    {"msr-intel-controls", msr_intel_controls},
    {"hypercall-user-log", hypercall_user_log},
    {"ram-canary-scan", ram_canary_scan},
    {"bios-services-write", bios_services_write},
    {NULL, NULL},
};
