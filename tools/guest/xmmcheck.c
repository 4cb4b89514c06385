/* xmmcheck: fills xmm0-xmm15 with a pattern of its own and checks, round after round, that
 * they still hold it after a spin during which the CPU takes interrupts and VM exits. A
 * monitor that hands one vCPU another's SSE state (one FPU save area shared by CPUs that
 * encrypt at once) shows up as a mismatch. The pattern depends on SEED and on the round, so a
 * stale state from an earlier round is caught too.
 *
 * Usage: xmmcheck SEED STOPFILE [MAX_SECONDS]: runs until STOPFILE exists (or MAX_SECONDS,
 * default 900, pass). Prints "XMM-OK seed=S rounds=N" or "XMM-MISMATCH seed=S round=N
 * reg=R"; exit 1 on a mismatch. Built static by build-guest.sh; used by tests/suites/ata_smp.py. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REGS 16
#define SPINS 200000ul

/* Loads all 16 registers from in, spins, stores them to out. Nothing between the load and the
 * store touches an xmm register: only the monitor (or the kernel) could change them. */
static void load_spin_store(const uint8_t *in, uint8_t *out, unsigned long spins) {
    __asm__ volatile(
        "movdqu 0(%0), %%xmm0\n\tmovdqu 16(%0), %%xmm1\n\tmovdqu 32(%0), %%xmm2\n\tmovdqu 48(%0), %%xmm3\n\t"
        "movdqu 64(%0), %%xmm4\n\tmovdqu 80(%0), %%xmm5\n\tmovdqu 96(%0), %%xmm6\n\tmovdqu 112(%0), %%xmm7\n\t"
        "movdqu 128(%0), %%xmm8\n\tmovdqu 144(%0), %%xmm9\n\tmovdqu 160(%0), %%xmm10\n\tmovdqu 176(%0), %%xmm11\n\t"
        "movdqu 192(%0), %%xmm12\n\tmovdqu 208(%0), %%xmm13\n\tmovdqu 224(%0), %%xmm14\n\tmovdqu 240(%0), %%xmm15\n\t"
        "1:\n\tpause\n\tdec %2\n\tjnz 1b\n\t"
        "movdqu %%xmm0, 0(%1)\n\tmovdqu %%xmm1, 16(%1)\n\tmovdqu %%xmm2, 32(%1)\n\tmovdqu %%xmm3, 48(%1)\n\t"
        "movdqu %%xmm4, 64(%1)\n\tmovdqu %%xmm5, 80(%1)\n\tmovdqu %%xmm6, 96(%1)\n\tmovdqu %%xmm7, 112(%1)\n\t"
        "movdqu %%xmm8, 128(%1)\n\tmovdqu %%xmm9, 144(%1)\n\tmovdqu %%xmm10, 160(%1)\n\tmovdqu %%xmm11, 176(%1)\n\t"
        "movdqu %%xmm12, 192(%1)\n\tmovdqu %%xmm13, 208(%1)\n\tmovdqu %%xmm14, 224(%1)\n\tmovdqu %%xmm15, 240(%1)\n\t"
        : "+r"(in), "+r"(out), "+r"(spins)
        :
        : "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
          "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
}

static void pattern(unsigned seed, unsigned long round, uint8_t *p) {
    uint64_t x = (uint64_t)seed * 0x9E3779B97F4A7C15ull ^ round;
    for (int i = 0; i < REGS * 16; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: xmmcheck SEED STOPFILE [MAX_SECONDS]\n");
        return 2;
    }
    unsigned seed = (unsigned)strtoul(argv[1], NULL, 0);
    const char *stop = argv[2];
    time_t end = time(NULL) + (argc > 3 ? atol(argv[3]) : 900);
    uint8_t want[REGS * 16], got[REGS * 16];
    unsigned long round = 0;
    while (access(stop, F_OK) != 0 && time(NULL) < end) {
        ++round;
        pattern(seed, round, want);
        load_spin_store(want, got, SPINS);
        for (int r = 0; r < REGS; ++r) {
            if (memcmp(got + 16 * r, want + 16 * r, 16) != 0) {
                printf("XMM-MISMATCH seed=%u round=%lu reg=xmm%d\n", seed, round, r);
                return 1;
            }
        }
    }
    printf("XMM-OK seed=%u rounds=%lu\n", seed, round);
    return 0;
}
