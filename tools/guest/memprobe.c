/* memprobe: guest-side memory checks for thinvisor tests.
 *
 *   memprobe [--all] BASE SIZE
 *       Maps physical pages of [BASE, BASE+SIZE) through /dev/mem one at a time (a sample of
 *       64 pages: first, last and 62 spread between; every page with --all). Every 8-byte
 *       word must read as zero, and writes to a few words must be dropped (read back zero).
 *       This is what the guest must see of the range the monitor reserved for itself.
 *
 *   memprobe --fill MB
 *       Allocates MB MiB, writes a page-specific pattern into every 64-byte line of every
 *       page (touching all of them), then verifies it:
 *       catches guest pages that alias each other or lose data under nested paging.
 *
 * Exit status: 0 all as expected, 1 a check failed, 64 usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SAMPLE_PAGES 64
#define FILL_STRIDE 8 /* --fill writes one word per 64-byte line: every page, 8x cheaper */
#define MAX_REPORTS 16

static void usage(FILE *f)
{
    fprintf(f,
            "usage: memprobe [--all] BASE SIZE   check a physical range reads zero and drops writes\n"
            "       memprobe --fill MB           fill and verify MB MiB of anonymous memory\n"
            "BASE and SIZE accept 0x-prefixed hex. Without --all, 64 pages are sampled.\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

static int probe_range(uint64_t base, uint64_t size, int all)
{
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    const size_t words = page / 8;
    /* Word indexes written with a pattern; must read back as zero. */
    const size_t write_idx[] = {0, 1, words / 2, words - 1};
    const uint64_t pattern = 0xa5c3f00d5a3c0ff0ull;
    uint64_t first, npages, nsample, i;
    uint64_t bad_words = 0, bad_pages = 0, kept_writes = 0, reports = 0;
    int fd;

    if (size == 0) {
        fprintf(stderr, "memprobe: SIZE is zero\n");
        return 64;
    }
    if (base + size < base) {
        fprintf(stderr, "memprobe: BASE+SIZE overflows\n");
        return 64;
    }
    first = base / page;
    npages = (base + size + page - 1) / page - first;
    nsample = (all || npages <= SAMPLE_PAGES) ? npages : SAMPLE_PAGES;

    fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        fprintf(stderr, "memprobe: open /dev/mem: %s\n", strerror(errno));
        return 1;
    }
    for (i = 0; i < nsample; i++) {
        /* Spread the sample evenly; index 0 is the first page, nsample-1 the last. */
        uint64_t idx = nsample == npages ? i : i * (npages - 1) / (nsample - 1);
        uint64_t addr = (first + idx) * page;
        uint64_t page_bad = 0;
        volatile uint64_t *p =
            mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)addr);

        if (p == MAP_FAILED) {
            fprintf(stderr, "memprobe: mmap /dev/mem at 0x%" PRIx64 ": %s\n", addr,
                    strerror(errno));
            close(fd);
            return 1;
        }
        for (size_t w = 0; w < words; w++) {
            uint64_t v = p[w];
            if (v) {
                page_bad++;
                if (reports++ < MAX_REPORTS)
                    printf("memprobe: non-zero at 0x%" PRIx64 ": 0x%016" PRIx64 "\n",
                           addr + w * 8, v);
            }
        }
        for (size_t k = 0; k < sizeof(write_idx) / sizeof(write_idx[0]); k++) {
            size_t w = write_idx[k];
            uint64_t before = p[w];
            p[w] = pattern ^ (addr + w * 8);
            uint64_t after = p[w];
            if (after != before) {
                kept_writes++;
                if (reports++ < MAX_REPORTS)
                    printf("memprobe: write kept at 0x%" PRIx64 ": read back 0x%016" PRIx64
                           "\n",
                           addr + w * 8, after);
                p[w] = before; /* undo, in case the write really reached memory */
            }
        }
        munmap((void *)p, page);
        if (page_bad) {
            bad_pages++;
            bad_words += page_bad;
        }
    }
    close(fd);

    if (!bad_words && !kept_writes) {
        printf("memprobe: %" PRIu64 " pages, all zero, writes dropped\n", nsample);
        return 0;
    }
    printf("memprobe: %" PRIu64 " pages, %" PRIu64 " non-zero words in %" PRIu64
           " pages, %" PRIu64 " writes kept\n",
           nsample, bad_words, bad_pages, kept_writes);
    return 1;
}

static uint64_t fill_value(uint64_t pg, size_t w)
{
    uint64_t x = (pg + 1) * 0x9e3779b97f4a7c15ull ^ (uint64_t)w * 0xc2b2ae3d27d4eb4full;
    return x ^ (x >> 29);
}

static int fill(uint64_t mb)
{
    const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    const size_t words = page / 8;
    uint64_t bytes, npages, bad = 0, reports = 0;
    volatile uint64_t *mem; /* volatile: the verify pass must really read memory */

    if (mb == 0 || mb > (1ull << 40) / (1ull << 20)) {
        fprintf(stderr, "memprobe: bad MB value\n");
        return 64;
    }
    bytes = mb << 20;
    mem = malloc(bytes);
    if (!mem) {
        printf("fill: malloc of %" PRIu64 " MiB failed\n", mb);
        return 1;
    }
    npages = bytes / page;
    for (uint64_t pg = 0; pg < npages; pg++) {
        volatile uint64_t *p = mem + pg * words;
        for (size_t w = 0; w < words; w += FILL_STRIDE)
            p[w] = fill_value(pg, w);
    }
    for (uint64_t pg = 0; pg < npages; pg++) {
        volatile uint64_t *p = mem + pg * words;
        for (size_t w = 0; w < words; w += FILL_STRIDE) {
            if (p[w] != fill_value(pg, w)) {
                bad++;
                if (reports++ < MAX_REPORTS)
                    printf("fill: mismatch at page %" PRIu64 " word %zu: 0x%016" PRIx64
                           " expected 0x%016" PRIx64 "\n",
                           pg, w, (uint64_t)p[w], fill_value(pg, w));
            }
        }
    }
    free((void *)mem);
    if (bad) {
        printf("fill: FAILED %" PRIu64 " bad words in %" PRIu64 " MiB\n", bad, mb);
        return 1;
    }
    printf("fill: ok %" PRIu64 "\n", mb);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t a, b;
    int all = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--fill")) {
        if (parse_u64(argv[2], &a) < 0) {
            usage(stderr);
            return 64;
        }
        return fill(a);
    }
    if (argc > 1 && !strcmp(argv[1], "--all")) {
        all = 1;
        argc--;
        argv++;
    }
    if (argc != 3 || parse_u64(argv[1], &a) < 0 || parse_u64(argv[2], &b) < 0) {
        usage(stderr);
        return 64;
    }
    return probe_range(a, b, all);
}
