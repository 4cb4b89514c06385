/* Attacks that stop the machine while their hole is open, run in a boot of their own: the
 * APIC moved over the monitor (issue 12, item 5), reserved EFER bits (item 7: VMRUN fails), and
 * INIT delivered to the boot CPU through an IOAPIC entry or an MSI (item 6: SVM does not intercept
 * a real INIT). An INIT that got through ends the guest; the host judges the IOAPIC one. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <unistd.h>

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

/* The MSI capability's offset, or 0. */
static int msi_cap(const struct pcidev *d)
{
    if (!(pci_cfg_read(d, 6, 2) & 0x10))
        return 0;
    int at = pci_cfg_read(d, 0x34, 1) & 0xfc;
    for (int i = 0; i < 48 && at >= 0x40; i++) {
        if ((pci_cfg_read(d, at, 1)) == 5)
            return at;
        at = pci_cfg_read(d, at + 1, 1) & 0xfc;
    }
    return 0;
}

/* Issue 12 item 6 by MSI: the AHCI controller's MSI data as an INIT (to the boot CPU, where
 * Linux aims it), then disk reads, each completing with that message. */
static void init_msi_ahci(const char *name)
{
    struct pcidev d;
    int cap;
    if (pci_find(0, 0, 0xffffff, 0x010601, &d) < 0 || !(cap = msi_cap(&d))) {
        skipped(name, "no AHCI controller with MSI");
        return;
    }
    uint32_t ctl = pci_cfg_read(&d, cap + 2, 2);
    int data = cap + ((ctl & 0x80) ? 12 : 8);
    uint32_t old = pci_cfg_read(&d, data, 2);
    pci_cfg_write(&d, data, 2, (old & ~0x700u) | 0x500);
    uint32_t now = pci_cfg_read(&d, data, 2);
    note("AHCI %s MSI %s, data at %#x: %#x, wrote INIT, reads %#x; reading the disk", d.bdf,
         ctl & 1 ? "enabled" : "disabled", data, old, now);
    int fd = open("/dev/sda", O_RDONLY | O_DIRECT);
    void *buf = NULL;
    if (fd >= 0 && posix_memalign(&buf, 4096, 4096) == 0)
        for (int i = 0; i < 8; i++)
            (void)!pread(fd, buf, 4096, (off_t)(i + 1) * (1 << 20));
    if (fd >= 0)
        close(fd);
    free(buf);
    sleep_ms(1000);
    pci_cfg_write(&d, data, 2, old);
    if ((now & 0x700) == 0x500)
        breach(name, "the MSI data register holds INIT delivery (%#x) and the boot CPU survived only by luck", now);
    else
        defended(name, "the MSI data write reached the device as %s delivery (%#x); the boot CPU still runs",
                 (now & 0x700) ? "another" : "fixed", now);
}

const struct attack fatal_attacks[] = {
    {"msr-apic-base", msr_apic_base},
    {"efer-reserved", efer_reserved},
    {NULL, NULL},
};

/* A boot of its own: the guest does not survive an INIT to its only CPU in any case. */
const struct attack init_attacks[] = {
    {"init-ioapic-bsp", init_ioapic_bsp},
    {"init-msi-ahci", init_msi_ahci}, /* after the IOAPIC one: the host judges that one by the log */
    {NULL, NULL},
};
