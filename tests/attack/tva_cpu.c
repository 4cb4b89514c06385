/* CPU access to the monitor's region: reads, writes and execution through /dev/mem aliases,
 * string instructions, and MOVS between an MMIO hook page and a monitor address (the monitor's
 * instruction emulator and its walk of the guest's page tables). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ucontext.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tva.h"

static int read_check(const char *name, const char *what, uint64_t phys, size_t n, int *bad)
{
    if (!phys)
        return 0;
    volatile uint64_t *p = devmem_map(phys, n);
    if (!p) {
        breach(name, "cannot map %s at %#llx through /dev/mem (is iomem=relaxed set?)", what,
               (unsigned long long)phys);
        return -1;
    }
    uint64_t copy[64];
    for (size_t i = 0; i < n / 8; i++)
        copy[i % 64] = p[i], *bad += copy[i % 64] != 0;
    if (*bad)
        hexdump_line(what, copy, sizeof copy);
    devmem_unmap((void *)p, n);
    return 0;
}

static void cpu_read_canaries(const char *name)
{
    const struct {
        const char *what;
        uint64_t phys;
    } places[] = {{"code", T.code}, {"data", T.data}, {"heap", T.heap}, {"page", T.page},
                  {"ide-bounce", T.ide_bounce}, {"ahci-bounce", T.ahci_bounce}, {"rx-tail", T.rx_tails}};
    int bad = 0, n = 0;
    for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
        if (read_check(name, places[i].what, places[i].phys, 512, &bad) < 0)
            return;
        n += places[i].phys != 0;
    }
    if (bad)
        breach(name, "%d non-zero words read from the canary places", bad);
    else
        defended(name, "all %d canary places read as zeros through a /dev/mem alias", n);
}

static void cpu_read_pread(const char *name)
{
    uint8_t buf[4096];
    int fd = open("/dev/mem", O_RDONLY);
    ssize_t got = fd >= 0 ? pread(fd, buf, sizeof buf, (off_t)T.code) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof buf)
        defended(name, "the kernel's read() of the code canary page failed (%zd)", got);
    else if (!all_zero(buf, sizeof buf)) {
        hexdump_line(name, buf, 64);
        breach(name, "read() of the code canary page returned data%s",
               has_canary_prefix(buf, sizeof buf) ? " with the canary prefix" : "");
    } else
        defended(name, "the kernel's copy (rep movs in read()) of the code page gave zeros");
}

static void cpu_read_region_sample(const char *name)
{
    uint64_t pages = T.region_size / 4096, bad = 0, sampled = 0;
    for (uint64_t i = 0; i < 64 && pages; i++) {
        uint64_t pg = i * (pages - 1) / 63;
        volatile uint64_t *p = devmem_map(T.region + pg * 4096, 4096);
        if (!p)
            continue;
        sampled++;
        for (int w = 0; w < 512; w++)
            bad += p[w] != 0;
        devmem_unmap((void *)p, 4096);
    }
    if (!sampled)
        breach(name, "could not map the region at all");
    else if (bad)
        breach(name, "%llu non-zero words in %llu sampled pages of the region", (unsigned long long)bad,
               (unsigned long long)sampled);
    else
        defended(name, "%llu pages across the region read as zeros", (unsigned long long)sampled);
}

static void write_attack(const char *name, int sl, int use_stos)
{
    volatile uint64_t *p = devmem_map(slice(sl), 512);
    if (!p) {
        breach(name, "cannot map slice %d", sl);
        return;
    }
    if (use_stos) {
        void *d = (void *)p;
        uint64_t n = 64, v = 0x4141414141414141ull;
        __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(v) : "memory");
    } else {
        for (int i = 0; i < 64; i++)
            p[i] = 0x4242424242424242ull ^ (uint64_t)i;
    }
    int kept = 0;
    for (int i = 0; i < 64; i++)
        kept += p[i] != 0;
    devmem_unmap((void *)p, 512);
    if (kept)
        breach(name, "%d of 64 written words read back at %#llx", kept, (unsigned long long)slice(sl));
    else
        defended(name, "writes to %#llx read back as zeros (power-off canary check confirms)",
                 (unsigned long long)slice(sl));
}

static void cpu_write_devmem(const char *name) { write_attack(name, 0, 0); }
static void cpu_rep_stos(const char *name) { write_attack(name, 1, 1); }

static void cpu_rep_movs_read(const char *name)
{
    uint8_t buf[512];
    void *src = devmem_map(T.data, 512); /* no attack writes there */
    if (!src) {
        breach(name, "cannot map the code canary");
        return;
    }
    void *d = buf, *s = src;
    uint64_t n = 64;
    __asm__ volatile("rep movsq" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    devmem_unmap(src, 512);
    if (!all_zero(buf, sizeof buf)) {
        hexdump_line(name, buf, 64);
        breach(name, "rep movsq from the code canary copied data%s", has_canary_prefix(buf, sizeof buf) ? " (canary prefix)" : "");
    } else
        defended(name, "rep movsq out of the region copied zeros");
}

/* Where the child was when its alarm fired (shared[104..111]), and that it fired (shared[101]). */
static volatile uint8_t *exec_shared;

static void exec_alarm(int sig, siginfo_t *si, void *ctx)
{
    (void)sig, (void)si;
    uint64_t rip = (uint64_t)((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
    memcpy((void *)(exec_shared + 104), &rip, sizeof rip);
    exec_shared[101] = 1;
    _exit(0);
}

/* Jumps into the code canary page in a child: zero-page fetches run as `add [rax], al` on a
 * shared counter (rax = counter + 1, so al = 1); monitor bytes would not. */
static void cpu_exec(const char *name)
{
    volatile uint8_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    uint8_t *target = devmem_map(slice(4), 512);
    if (shared == MAP_FAILED || !target) {
        breach(name, "set-up failed");
        return;
    }
    /* Entered 2 bytes in: the 1023 `add [rax], al` to the page's end leave the byte at 255, not
     * at a multiple of 256; then the fetch runs off the mapping and the child faults. */
    target[2] = 0xc3; /* ret: kept only if the write reached the monitor's page */
    exec_shared = shared;
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = exec_alarm;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGALRM, &sa, NULL);
        alarm(10);
        __asm__ volatile("mov %0, %%rax\n\tcall *%1" : : "r"(shared + 1), "r"(target + 2) : "rax", "memory");
        shared[100] = 1;
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    uint64_t rip = 0;
    memcpy(&rip, (const void *)(shared + 104), sizeof rip);
    if (shared[100])
        breach(name, "a ret written into the monitor's page ran and returned");
    else if (shared[1])
        defended(name, "the fetch saw zeros: %u zero-page instructions ran, then %s", shared[1],
                 shared[101] ? "the alarm" : WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "an exit");
    else if (shared[101] && rip == (uint64_t)(uintptr_t)(target + 2))
        /* Not one instruction retired in 10 s: the fetch kept faulting (the monitor's single
         * step cancelled by interrupts each time, say), which runs nothing of the monitor's. */
        defended(name, "the first fetch from the region never completed within 10 s (the child was still at "
                 "%#llx): nothing ran", (unsigned long long)rip);
    else
        breach(name, "execution in the region did not see zeros (%s at rip %#llx, entered at %p): monitor bytes "
               "may have run", shared[101] ? "alarm" : WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "exit",
               (unsigned long long)rip, (void *)(target + 2));
    devmem_unmap(target, 512);
}

static volatile uint32_t *map_abar(struct pcidev *a)
{
    if (pci_find(0, 0, 0xffffff, 0x010601, a) < 0 || !a->bar[5])
        return NULL;
    return devmem_map(a->bar[5], 4096);
}

/* MOVS whose source is a hooked page (the AHCI ABAR) and whose destination is the monitor. */
static void cpu_movs_hook_to_monitor(const char *name)
{
    struct pcidev a;
    volatile uint32_t *abar = map_abar(&a);
    volatile uint32_t *dst = devmem_map(slice(2), 512);
    if (!abar || !dst) {
        skipped(name, "no AHCI ABAR or region mapping");
        return;
    }
    void *d = (void *)dst, *s = (void *)abar;
    uint64_t n = 32;
    __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    int kept = 0;
    for (int i = 0; i < 32; i++)
        kept += dst[i] != 0;
    devmem_unmap((void *)abar, 4096);
    devmem_unmap((void *)dst, 512);
    if (kept)
        breach(name, "%d ABAR dwords landed in the monitor's region", kept);
    else
        defended(name, "rep movsl from the ABAR into the region left zeros (power-off check confirms)");
}

/* MOVS from the monitor into a pass-through register block (e1000 MTA, 128 dwords of plain
 * storage), then read the registers back. */
static void cpu_movs_monitor_to_hook(const char *name)
{
    struct pcidev e;
    if (pci_find(0x8086, 0x100e, 0, 0, &e) < 0 || !e.bar[0]) {
        skipped(name, "no e1000");
        return;
    }
    pci_unbind(&e); /* without iomem=relaxed (the Bochs guest) a bound driver keeps BAR0 from /dev/mem */
    volatile uint32_t *bar = devmem_map(e.bar[0], 0x20000);
    void *src = devmem_map(T.heap ? T.heap : T.data, 512);
    if (!bar || !src) {
        breach(name, "cannot map BAR0 or the code canary");
        return;
    }
    volatile uint32_t *mta = bar + 0x5200 / 4;
    for (int i = 0; i < 128; i++)
        mta[i] = 0;
    void *d = (void *)mta, *s = src;
    uint64_t n = 128;
    __asm__ volatile("rep movsl" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
    uint32_t got[128];
    for (int i = 0; i < 128; i++)
        got[i] = mta[i], mta[i] = 0;
    devmem_unmap((void *)bar, 0x20000);
    devmem_unmap(src, 512);
    if (!all_zero(got, sizeof got)) {
        hexdump_line(name, got, 64);
        breach(name, "monitor bytes reached the e1000 MTA%s", has_canary_prefix(got, sizeof got) ? " (canary prefix)" : "");
    } else
        defended(name, "rep movsl from the region into the MTA wrote zeros");
}

/* Large-page aliases (issue 12): a guest kernel module, tests/attack/kmod/tvlpa.c, built against
 * the guest kernel's headers and handed in through fw_cfg, maps the region through a 1 GiB page
 * and 2 MiB pages of its own, reads the code canary, writes heap canary slices 18 (2 MiB) and
 * 19 (1 GiB) and executes at the end of a 2 MiB page over the code canary's chunk; it reports
 * in the kernel log ("tvlpa: ..."), which this judges. The load always fails (nothing stays). */
#define TVLPA_KO "/sys/firmware/qemu_fw_cfg/by_name/opt/thinvisor/tvlpa/raw"
#define TVLPA_DISK_OFF (4ll << 20) /* without fw_cfg (Bochs): "TVLPAKO1", a 64-bit length, the module */

/* The module's bytes: QEMU hands them in by fw_cfg, _bochs_attack.py on the scratch disk. An
 * fd positioned at the module's first byte, or -1; *len its length (0: to the end). */
static int tvlpa_source(long long *len)
{
    *len = 0;
    int fd = open(TVLPA_KO, O_RDONLY);
    if (fd >= 0)
        return fd;
    static const char *const disks[] = {"/dev/sdb", "/dev/sda", "/dev/sdc", "/dev/hdb", NULL};
    for (int i = 0; disks[i]; i++) {
        uint8_t head[16];
        fd = open(disks[i], O_RDONLY);
        if (fd < 0)
            continue;
        if (pread(fd, head, sizeof head, TVLPA_DISK_OFF) == (ssize_t)sizeof head && !memcmp(head, "TVLPAKO1", 8) &&
            lseek(fd, TVLPA_DISK_OFF + 16, SEEK_SET) >= 0) {
            memcpy(len, head + 8, 8);
            return fd;
        }
        close(fd);
    }
    return -1;
}

static void cpu_largepage_alias(const char *name)
{
    long long left = 0;
    int in = tvlpa_source(&left), kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
    if (in < 0 || kmsg < 0) {
        skipped(name, "no tvlpa.ko handed in, by fw_cfg or on a disk (tests/attack/kmod/build.sh could not build "
                      "it?) or no /dev/kmsg");
        return;
    }
    /* finit_module wants a regular file, not fw_cfg's sysfs one */
    int ko = open("/tmp/tvlpa.ko", O_RDWR | O_CREAT | O_TRUNC, 0600);
    char chunk[4096];
    for (ssize_t n; ko >= 0 && (n = read(in, chunk, left > 0 && left < (long long)sizeof chunk ? (size_t)left
                                                                                             : sizeof chunk)) > 0;) {
        if (write(ko, chunk, (size_t)n) != n)
            break;
        if (left > 0 && (left -= n) <= 0)
            break;
    }
    close(in);
    if (ko >= 0)
        close(ko);
    ko = open("/tmp/tvlpa.ko", O_RDONLY); /* a writable fd would be ETXTBSY */
    unlink("/tmp/tvlpa.ko");
    if (ko < 0) {
        breach(name, "cannot copy the module to /tmp");
        return;
    }
    lseek(kmsg, 0, SEEK_END);
    char params[160];
    snprintf(params, sizeof params, "code=%#llx w2m=%#llx w1g=%#llx", (unsigned long long)T.code,
             (unsigned long long)slice(18), (unsigned long long)slice(19));
    /* Loaded by a child: an oops in the module kills its caller, which must not read as a refusal. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(syscall(SYS_finit_module, ko, params, 0) < 0 ? errno : 0);
    int st = 0;
    waitpid(pid, &st, 0);
    close(ko);
    int killed = WIFSIGNALED(st), err = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
    char rec[512], lines[2048] = "";
    int done = 0, leak = 0, exec_ok = 0, reads = 0, writes = 0;
    for (ssize_t n; (n = read(kmsg, rec, sizeof rec - 1)) > 0;) {
        rec[n] = 0;
        char *m = strchr(rec, ';'); /* a record: "prio,seq,usec,flags;text" */
        if (!m || (!strstr(m, "tvlpa: ") && !strstr(m, "BUG: ") && !strstr(m, "Oops: ")))
            continue;
        m++;
        m[strcspn(m, "\n")] = 0;
        printf("tvattack: kernel: %s\n", m);
        if (strstr(m, "CANARY") || strstr(m, " data ") || strstr(m, "OTHER") || strstr(m, "SETUP") ||
            strstr(m, "BUG: ") || strstr(m, "Oops: "))
            leak = 1, snprintf(lines + strlen(lines), sizeof lines - strlen(lines), "%s; ", m);
        reads += strstr(m, "read-") && strstr(m, " zeros");
        writes += strstr(m, "write-") && strstr(m, " zeros");
        exec_ok |= strstr(m, "exec-2m zeros") != NULL;
        done |= strstr(m, "tvlpa: done") != NULL;
    }
    close(kmsg);
    if (leak)
        breach(name, "%s", lines);
    else if (!done || reads != 2 || writes != 2 || !exec_ok)
        breach(name, "the module did not finish its accesses (loader %s %d; %d reads, %d writes seen zero, exec %s)",
               killed ? "killed by signal" : "errno", killed ? WTERMSIG(st) : err, reads, writes,
               exec_ok ? "zeros" : "not seen");
    else
        defended(name, "through a 1 GiB page and 2 MiB pages: the code canary read as zeros both ways, both writes read "
                       "back as zeros, execution at a 2 MiB page's end ran zeros (the power-off check decides the "
                       "writes)");
}

const struct attack cpu_attacks[] = {
    {"cpu-read-canaries", cpu_read_canaries},
    {"cpu-read-kernel-copy", cpu_read_pread},
    {"cpu-read-region-sample", cpu_read_region_sample},
    {"cpu-write-alias", cpu_write_devmem},
    {"cpu-rep-stos", cpu_rep_stos},
    {"cpu-rep-movs-read", cpu_rep_movs_read},
    {"cpu-exec", cpu_exec},
    {"cpu-movs-hook-to-monitor", cpu_movs_hook_to_monitor},
    {"cpu-movs-monitor-to-hook", cpu_movs_monitor_to_hook},
    {"cpu-largepage-alias", cpu_largepage_alias},
    {NULL, NULL},
};
