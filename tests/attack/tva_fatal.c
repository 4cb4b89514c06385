/* Attacks that stop the machine while their hole is open, run in a boot of their own: the
 * APIC moved over the monitor (issue 12, item 5), reserved EFER bits (item 7: VMRUN fails), and
 * INIT delivered to the boot CPU through an IOAPIC entry (item 6: SVM does not intercept INIT
 * unless asked). The last one ends the guest whatever happens; the host judges it. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/io.h>

#include "tva.h"

static void msr_apic_base(const char *name)
{
    uint64_t old = 0, now = 0;
    if (msr_read(0, 0x1b, &old) < 0) {
        skipped(name, "no msr driver");
        return;
    }
    uint64_t want = (T.code & ~0xfffull) | (old & 0xfff);
    int rc = msr_write(0, 0x1b, want);
    msr_read(0, 0x1b, &now);
    msr_write(0, 0x1b, old);
    if (rc == 0 && now == want)
        breach(name, "IA32_APIC_BASE moved to %#llx (over the monitor's code)", (unsigned long long)now);
    else
        defended(name, "IA32_APIC_BASE %s (reads %#llx)", rc < 0 ? "write refused" : "write ignored",
                 (unsigned long long)now);
}

static void efer_reserved(const char *name)
{
    uint64_t old = 0, now = 0;
    msr_read(0, 0xc0000080, &old);
    int rc = msr_write(0, 0xc0000080, old | 1ull << 20);
    msr_read(0, 0xc0000080, &now);
    if (rc == 0 && (now >> 20 & 1)) {
        msr_write(0, 0xc0000080, old);
        breach(name, "EFER took reserved bit 20");
    } else
        defended(name, "reserved EFER bit %s and the monitor still runs", rc < 0 ? "refused (#GP)" : "ignored");
}

/* IOAPIC pin 14 (the IDE primary channel) as an INIT to APIC 0, then an IDE interrupt. */
static void init_ioapic_bsp(const char *name)
{
    struct pcidev ide;
    volatile uint32_t *io = devmem_map(0xfec00000, 0x20);
    if (!io || pci_find(0, 0, 0xffff00, 0x010100, &ide) < 0) {
        skipped(name, "no IOAPIC mapping or no IDE controller");
        return;
    }
    pci_unbind(&ide);
    io[0] = 0x10 + 2 * 14 + 1;
    io[4] = 0; /* destination APIC 0 */
    io[0] = 0x10 + 2 * 14;
    io[4] = 5u << 8; /* INIT, physical, edge, unmasked */
    note("IOAPIC pin 14 is INIT to APIC 0; raising IRQ 14");
    outb(0x00, 0x3f6); /* interrupts on */
    outb(0xe0, 0x1f6);
    outb(0xec, 0x1f7); /* IDENTIFY: completes with an interrupt */
    sleep_ms(2000);
    defended(name, "the boot CPU still runs the guest 2 s after an INIT through the IOAPIC");
}

const struct attack fatal_attacks[] = {
    {"msr-apic-base", msr_apic_base},
    {"efer-reserved", efer_reserved},
    {NULL, NULL},
};

/* A boot of its own: the guest does not survive an INIT to its only CPU in any case. */
const struct attack init_attacks[] = {
    {"init-ioapic-bsp", init_ioapic_bsp},
    {NULL, NULL},
};
