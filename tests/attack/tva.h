/* tvattack: the hostile guest of tests/suites/attacks.py. A static Linux program (root, iopl,
 * /dev/mem with iomem=relaxed, /proc/self/pagemap, /dev/cpu/0/msr, /proc/kcore) that attacks
 * the monitor underneath it and prints one verdict per attack:
 *   DEFENDED name: what the guest saw     BREACH name: what leaked or changed
 * The host suite adds what only it can see (canary bytes on the disks and the wire, the
 * monitor's power-off canary check, whether the monitor is still alive). */
#ifndef TVA_H
#define TVA_H

#include <stddef.h>
#include <stdint.h>

/* Where the monitor keeps its canaries (from its log, typed in by the host) and its region. */
struct targets {
    uint64_t region, region_size;
    uint64_t code, data, heap, page;      /* checked at power-off (slices, see slice()) */
    uint64_t ide_bounce, ahci_bounce, rx_tails;
    uint64_t ide_dev; /* the scratch disk's device-select byte: 0xe0 master (default), 0xf0 slave */
};
extern struct targets T;

/* A 512-byte slice of the code canary page (0-7), of the page canary (8-15), of the heap
 * canary (16-23; the TX attacks read the first two, which only the EHCI attacks write, after
 * them) or the data canary (24, one slice): each attack that writes towards the monitor aims
 * at its own slice, so the power-off check names the attack. */
uint64_t slice(int i);

void defended(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void breach(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void skipped(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Guest memory a device may be pointed at: one locked 4 KiB page below 4 GiB. */
struct dpage {
    uint8_t *v;
    uint64_t p;
};
int dma_page(struct dpage *d);
uint64_t phys_of(const void *v);

/* /dev/mem (the guest kernel runs with iomem=relaxed). NULL on failure. */
void *devmem_map(uint64_t phys, size_t len);
void devmem_unmap(void *p, size_t len);

/* Canary recognition without the guest knowing the secret: the fixed prefix, compared without
 * ever holding it in memory (a RAM scan must not find the attacker's own copy). */
int has_canary_prefix(const void *buf, size_t n);
int has_keyslot_magic(const void *buf, size_t n);
int all_zero(const void *buf, size_t n);
void hexdump_line(const char *tag, const void *buf, size_t n);

/* PCI: sysfs for ordinary configuration access (the kernel's CF8/CFC), raw ports for attacks. */
struct pcidev {
    char bdf[32];
    unsigned bus, dev, fn;
    uint64_t bar[6];
};
int pci_find(uint16_t vendor, uint16_t device, uint32_t class_mask, uint32_t class_val, struct pcidev *out);
int pci_find_nth(uint16_t vendor, uint16_t device, uint32_t class_mask, uint32_t class_val, int nth,
                 struct pcidev *out);
uint32_t pci_cfg_read(const struct pcidev *d, int off, int size);
int pci_cfg_write(const struct pcidev *d, int off, int size, uint32_t v);
int pci_unbind(const struct pcidev *d);
uint32_t cf8_addr(const struct pcidev *d, int off);

int msr_read(int cpu, uint32_t msr, uint64_t *v);
int msr_write(int cpu, uint32_t msr, uint64_t v);

/* Attack groups; each runs its attacks in order and prints their verdicts. */
struct attack {
    const char *name;
    void (*fn)(const char *name);
};
void run_attack(const struct attack *a);
/* Verdicts the running attack printed (shared with its child process). */
extern volatile int *tva_verdicts;
void tva_shared_init(void);
extern const struct attack first_attacks[], cpu_attacks[], ide_attacks[], ahci_attacks[], nic_attacks[],
    pci_attacks[], misc_attacks[], fatal_attacks[], init_attacks[], iommu_attacks[], iommu_nic_attacks[],
    ide_race_attacks[], xhci_attacks[], iommu_init_attacks[], ehci_attacks[], xhci_hidden_attacks[],
    ehci_storage_attacks[];

/* A compiler barrier: descriptors in plain memory must be written before the register write
 * that hands them over (a device, or the monitor at that exit, reads them then), and a rewrite
 * after it must not be merged with the first write. Every register access goes through one. */
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

double now_s(void);
void sleep_ms(int ms);

#endif
