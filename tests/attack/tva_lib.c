/* tvattack's helpers: verdicts, DMA pages, /dev/mem, PCI, MSRs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "tva.h"

struct targets T;
volatile int *tva_verdicts;

void tva_shared_init(void)
{
    tva_verdicts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
}

uint64_t slice(int i)
{
    if (i < 8)
        return T.code + (uint64_t)i * 512;
    if (i < 16)
        return T.page + (uint64_t)(i - 8) * 512;
    if (i == 24)
        return T.data;
    return ((T.heap + 63) & ~63ull) + (uint64_t)(i - 16) * 512; /* xHCI contexts are 64-byte aligned */
}

static void verdict(const char *kind, const char *name, const char *fmt, va_list ap)
{
    printf("%s %s: ", kind, name);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    (*tva_verdicts)++;
}

void defended(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict("DEFENDED", name, fmt, ap);
    va_end(ap);
}

void breach(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict("BREACH", name, fmt, ap);
    va_end(ap);
}

void skipped(const char *name, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verdict("SKIPPED", name, fmt, ap);
    va_end(ap);
}

void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("tvattack: ");
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

uint64_t phys_of(const void *v)
{
    static int fd = -1;
    uint64_t entry = 0;
    long page = sysconf(_SC_PAGESIZE);
    if (fd < 0)
        fd = open("/proc/self/pagemap", O_RDONLY);
    if (fd < 0)
        return 0;
    off_t off = (off_t)((uintptr_t)v / (uintptr_t)page * 8);
    if (pread(fd, &entry, 8, off) != 8 || !(entry >> 63))
        return 0;
    return (entry & ((1ull << 55) - 1)) * (uint64_t)page + (uintptr_t)v % (uintptr_t)page;
}

int dma_page(struct dpage *d)
{
    void *v = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED | MAP_POPULATE,
                   -1, 0);
    if (v == MAP_FAILED)
        return -1;
    memset(v, 0, 4096);
    d->v = v;
    d->p = phys_of(v);
    if (!d->p || d->p >= (1ull << 32))
        return -1;
    return 0;
}

void *devmem_map(uint64_t phys, size_t len)
{
    static int fd = -1;
    if (fd < 0)
        fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0)
        return NULL;
    uint64_t base = phys & ~4095ull;
    size_t span = (size_t)(phys - base) + len;
    uint8_t *p = mmap(NULL, span, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, fd, (off_t)base);
    if (p == MAP_FAILED) {
        p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)base);
        if (p == MAP_FAILED)
            return NULL;
    }
    return p + (phys - base);
}

void devmem_unmap(void *p, size_t len)
{
    uintptr_t base = (uintptr_t)p & ~(uintptr_t)4095;
    munmap((void *)base, (size_t)((uintptr_t)p - base) + len);
}

/* The magic strings XOR 0x5a, so the program never holds them in plain form. */
static const uint8_t kCanaryX[8] = {'T' ^ 0x5a, 'V' ^ 0x5a, 'C' ^ 0x5a, 'A' ^ 0x5a,
                                    'N' ^ 0x5a, 'A' ^ 0x5a, 'R' ^ 0x5a, 'Y' ^ 0x5a};
static const uint8_t kKeyslotX[8] = {'T' ^ 0x5a, 'V' ^ 0x5a, 'K' ^ 0x5a, 'E' ^ 0x5a,
                                     'Y' ^ 0x5a, 'S' ^ 0x5a, 'L' ^ 0x5a, 'T' ^ 0x5a};

/* memchr finds each candidate first byte (one byte, not the string): the RAM scans cost several
 * minutes under Bochs with a loop over every byte. */
static int has_x(const void *buf, size_t n, const uint8_t *x)
{
    const uint8_t *p = buf, *end = p + n;
    while (p + 8 <= end) {
        p = memchr(p, x[0] ^ 0x5a, (size_t)(end - p - 7));
        if (!p)
            return 0;
        size_t k = 1;
        while (k < 8 && (p[k] ^ 0x5a) == x[k])
            k++;
        if (k == 8)
            return 1;
        p++;
    }
    return 0;
}

int has_canary_prefix(const void *buf, size_t n) { return has_x(buf, n, kCanaryX); }
int has_keyslot_magic(const void *buf, size_t n) { return has_x(buf, n, kKeyslotX); }

int all_zero(const void *buf, size_t n)
{
    const uint8_t *b = buf;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

void hexdump_line(const char *tag, const void *buf, size_t n)
{
    const uint8_t *b = buf;
    printf("LOOT %s ", tag);
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
    printf("\n");
    fflush(stdout);
}

static unsigned read_hex_file(const char *dir, const char *file)
{
    char path[320], buf[32] = {0};
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(buf, sizeof buf, f))
        buf[0] = 0;
    fclose(f);
    return (unsigned)strtoul(buf, NULL, 0);
}

/* The nth function (in bus order) matching vendor/device (0: any) and class. */
int pci_find_nth(uint16_t vendor, uint16_t device, uint32_t class_mask, uint32_t class_val, int nth,
                 struct pcidev *out)
{
    struct dirent **names;
    int n = scandir("/sys/bus/pci/devices", &names, NULL, alphasort), found = -1;
    for (int k = 0; k < n; k++) {
        char path[300];
        const char *bdf = names[k]->d_name;
        snprintf(path, sizeof path, "/sys/bus/pci/devices/%s", bdf);
        if (found < 0 && bdf[0] != '.' && (!vendor || read_hex_file(path, "vendor") == vendor) &&
            (!device || read_hex_file(path, "device") == device) &&
            (read_hex_file(path, "class") & class_mask) == class_val && nth-- == 0) {
            memset(out, 0, sizeof *out);
            snprintf(out->bdf, sizeof out->bdf, "%.31s", bdf);
            unsigned dom;
            sscanf(bdf, "%x:%x:%x.%x", &dom, &out->bus, &out->dev, &out->fn);
            char rpath[320];
            snprintf(rpath, sizeof rpath, "%s/resource", path);
            FILE *f = fopen(rpath, "r");
            for (int i = 0; f && i < 6; i++) {
                unsigned long long st, en, fl;
                if (fscanf(f, "%llx %llx %llx", &st, &en, &fl) != 3)
                    break;
                out->bar[i] = st;
            }
            if (f)
                fclose(f);
            found = 0;
        }
        free(names[k]);
    }
    if (n >= 0)
        free(names);
    return found;
}

int pci_find(uint16_t vendor, uint16_t device, uint32_t class_mask, uint32_t class_val, struct pcidev *out)
{
    return pci_find_nth(vendor, device, class_mask, class_val, 0, out);
}

static int cfg_fd(const struct pcidev *d)
{
    char path[300];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/config", d->bdf);
    return open(path, O_RDWR);
}

uint32_t pci_cfg_read(const struct pcidev *d, int off, int size)
{
    uint32_t v = 0;
    int fd = cfg_fd(d);
    if (fd >= 0) {
        if (pread(fd, &v, (size_t)size, off) != size)
            v = 0xffffffffu;
        close(fd);
    }
    return v;
}

int pci_cfg_write(const struct pcidev *d, int off, int size, uint32_t v)
{
    int fd = cfg_fd(d), rc = -1;
    if (fd >= 0) {
        rc = pwrite(fd, &v, (size_t)size, off) == size ? 0 : -1;
        close(fd);
    }
    return rc;
}

int pci_unbind(const struct pcidev *d)
{
    char path[300];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/driver/unbind", d->bdf);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1; /* no driver bound */
    int rc = write(fd, d->bdf, strlen(d->bdf)) > 0 ? 0 : -1;
    close(fd);
    return rc;
}

uint32_t cf8_addr(const struct pcidev *d, int off)
{
    return 0x80000000u | d->bus << 16 | d->dev << 11 | d->fn << 8 | (uint32_t)(off & 0xfc);
}

static int msr_fd(int cpu)
{
    char path[64];
    snprintf(path, sizeof path, "/dev/cpu/%d/msr", cpu);
    return open(path, O_RDWR);
}

int msr_read(int cpu, uint32_t msr, uint64_t *v)
{
    int fd = msr_fd(cpu);
    if (fd < 0)
        return -1;
    int rc = pread(fd, v, 8, msr) == 8 ? 0 : -1;
    close(fd);
    return rc;
}

int msr_write(int cpu, uint32_t msr, uint64_t v)
{
    int fd = msr_fd(cpu);
    if (fd < 0)
        return -1;
    int rc = pwrite(fd, &v, 8, msr) == 8 ? 0 : -1;
    close(fd);
    return rc;
}
