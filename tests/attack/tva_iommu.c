/* The IOMMU the monitor drives is out of the guest's reach (issue 12, item 3: "the guest must not
 * be able to undo this"): the guest looks for the remapping tables under their real names, finds
 * the unit's registers through the renamed copy the firmware's ACPI still lists, and tries to
 * turn translation off through them and to move an AMD-Vi unit's registers through its PCI
 * capability. The next attacks (iommu-nic-*) check that translation is still on. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tva.h"

static int read_table(const char *sig, uint8_t *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/sys/firmware/acpi/tables/%s", sig);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    int n = (int)read(fd, buf, cap);
    close(fd);
    return n;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The first unit's register base from an IVRS (or its renamed copy TVIV) or a DMAR (TVDM):
 * both keep it 8 bytes into the first structure at offset 48. *amd: which kind. */
static uint64_t unit_base(int *amd, uint16_t *devid, uint16_t *cap, const char **found)
{
    static uint8_t t[4096];
    const char *names[] = {"IVRS", "TVIV", "DMAR", "TVDM"};
    for (int i = 0; i < 4; i++) {
        int n = read_table(names[i], t, sizeof t);
        if (n < 64)
            continue;
        *found = names[i];
        *amd = i < 2;
        *devid = (uint16_t)(t[52] | t[53] << 8);
        *cap = (uint16_t)(t[54] | t[55] << 8);
        return le64(t + 56);
    }
    return 0;
}

/* A write to the AMD-Vi capability's base address register (offset 4) through configuration
 * space: refused when it reads back unchanged. */
static int capability_moved(uint16_t devid, uint16_t cap)
{
    struct pcidev d;
    memset(&d, 0, sizeof d);
    d.bus = devid >> 8, d.dev = (devid >> 3) & 31, d.fn = devid & 7;
    snprintf(d.bdf, sizeof d.bdf, "0000:%02x:%02x.%x", d.bus, d.dev, d.fn);
    uint32_t before = pci_cfg_read(&d, cap + 4, 4);
    pci_cfg_write(&d, cap + 4, 4, (uint32_t)(T.page & ~0x3fffull) | 1);
    uint32_t after = pci_cfg_read(&d, cap + 4, 4);
    if (after != before)
        pci_cfg_write(&d, cap + 4, 4, before);
    note("AMD-Vi capability of %s at %#x: base register %#x, after the write %#x", d.bdf, cap, before, after);
    return after != before;
}

static void iommu_registers(const char *name)
{
    int amd = 0;
    uint16_t devid = 0, cap = 0;
    const char *found = NULL;
    uint64_t base = unit_base(&amd, &devid, &cap, &found);
    if (!base) {
        skipped(name, "no IOMMU table, renamed or not");
        return;
    }
    if (!strcmp(found, "IVRS") || !strcmp(found, "DMAR")) {
        breach(name, "the guest finds the %s table: it could drive the unit itself", found);
        return;
    }
    volatile uint64_t *r = devmem_map(base, 0x4000);
    if (!r) {
        skipped(name, "cannot map the unit's registers at %#llx", (unsigned long long)base);
        return;
    }
    /* AMD-Vi: control at 0x18 (bit 0 translation on); VT-d: global command at 0x18, global
     * status at 0x1c (bit 31 translation on). A zero there turns translation off. */
    uint64_t before = r[0x18 / 8], features = r[0x30 / 8];
    r[0x18 / 8] = 0;
    if (amd)
        r[0x00 / 8] = T.page & ~0xfffull; /* the device table: into the monitor, as if the guest's */
    uint64_t after = r[0x18 / 8];
    devmem_unmap((void *)r, 0x4000);
    int moved = amd && cap ? capability_moved(devid, cap) : 0;
    if (before != ~0ull || features != ~0ull || after != ~0ull)
        breach(name, "the %s unit's registers at %#llx answer the guest (control %#llx, features %#llx, after "
                     "the write %#llx)", amd ? "AMD-Vi" : "VT-d", (unsigned long long)base,
               (unsigned long long)before, (unsigned long long)features, (unsigned long long)after);
    else if (moved)
        breach(name, "the AMD-Vi capability's base address register took the guest's write");
    else
        defended(name, "%s found under %s; its registers at %#llx read as absent and took no write%s (the "
                       "iommu-nic attacks check translation is still on)", amd ? "AMD-Vi" : "VT-d", found,
                 (unsigned long long)base, amd && cap ? ", its capability kept its base" : "");
}

const struct attack iommu_attacks[] = {
    {"iommu-registers", iommu_registers},
    {NULL, NULL},
};
