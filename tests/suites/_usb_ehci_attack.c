/* The hostile guest of tests/suites/usb_ehci.py: after the unmodified driver's run, it unbinds
 * ehci-pci and drives the (mediated) controller by hand through /dev/mem, with a DMA page found
 * through /proc/self/pagemap: it resets the port the stick is on (the stick answers at address 0
 * again) and builds an asynchronous schedule of a head QH and one QH for endpoint 0 with a
 * GET_DESCRIPTOR control transfer whose Data Stage qTD is an IN into the monitor's region, then
 * points that QH's horizontal link into the monitor. The monitor must refuse both (the Setup
 * runs, the Data Stage comes back halted and never runs; unmediated, the stick's 18 bytes
 * would land in the monitor and the qTD complete) and log them. Then a periodic schedule whose
 * frame list entries all lead to a QH in the monitor: refused and logged, the controller never
 * given it. The guest reports what it saw as "TV-EHCI-ATTACK name: ..." lines. Argument: the monitor's base (thinvisor-ctl range). Built
 * static by the suite; not part of the guest image. The controller driving is shared with the
 * attack suite's tvattack (tests/attack/usb_hc.h, tva_ehci.c, which runs more EHCI attacks). */
#include "../attack/usb_hc.h"

/* A frame list (one page, 1024 entries) whose every entry is a QH in the monitor. */
static void periodic_into_monitor(struct ehci *e, uint64_t monitor)
{
    uint8_t *page;
    uint64_t list_phys;
    if (hc_dma_pages(1, &page, &list_phys)) {
        printf("TV-EHCI-ATTACK periodic-entry-into-monitor: no DMA page below 4 GiB\n");
        return;
    }
    uint32_t *list = (uint32_t *)page;
    for (int i = 0; i < 1024; i++)
        list[i] = (uint32_t)monitor | 2; /* type QH */
    hc_barrier();
    e->op[0] = 0;
    hc_sleep_ms(20);
    e->op[5] = (uint32_t)list_phys; /* PERIODICLISTBASE */
    e->op[0] = 1 | (1u << 4);       /* Run, periodic schedule */
    hc_sleep_ms(200);
    printf("TV-EHCI-ATTACK periodic-entry-into-monitor: sent; USBSTS %08x\n", ehci_status(e));
    e->op[0] = 0;
    hc_sleep_ms(20);
}

int main(int argc, char **argv)
{
    uint64_t monitor = argc > 1 ? strtoull(argv[1], 0, 0) : 0, bar = 0, phys = 0;
    char bdf[300];
    uint8_t *page = NULL;
    if (!monitor || hc_find(0x0c0320, bdf, sizeof bdf, &bar) || !bar) {
        printf("TV-EHCI-ATTACK setup: no monitor range or no EHCI\n");
        return 1;
    }
    volatile uint32_t *cap = hc_take(bdf, bar, 0x1000, "TV-EHCI-ATTACK");
    if (!cap || hc_dma_pages(1, &page, &phys)) {
        printf("TV-EHCI-ATTACK setup: cannot map BAR0 %#llx or find a DMA page below 4 GiB\n", (unsigned long long)bar);
        return 1;
    }
    struct ehci e;
    if (ehci_take(&e, cap) < 0) {
        printf("TV-EHCI-ATTACK setup: no device on any port\n");
        return 1;
    }
    ehci_sched_build(page, (uint32_t)phys, (uint32_t)monitor, 18); /* the buffer: the monitor's first page */
    e.op[6] = (uint32_t)phys; /* ASYNCLISTADDR */
    e.op[0] = 1 | (1u << 5);  /* Run, async schedule */
    printf("TV-EHCI-ATTACK start\n");
    hc_sleep_ms(300);
    (void)ehci_status(&e); /* USBSTS: the guest looks */
    uint32_t t = ehci_token(page, EHCI_DATA), st = ehci_token(page, EHCI_SETUP);
    printf("TV-EHCI-ATTACK buffer-into-monitor: sent; setup %s; token %08x (%s)\n",
           (st & 0xc0) ? "not run" : "ran", t, ehci_token_state(t));
    /* The QH's horizontal link into the monitor: the walk must stop there. */
    uint32_t *w = (uint32_t *)page;
    w[EHCI_DATA + 2] = 0;
    w[EHCI_QH + 0] = (uint32_t)monitor | 2;
    hc_barrier();
    hc_sleep_ms(300);
    printf("TV-EHCI-ATTACK qh-link-into-monitor: sent; USBSTS %08x\n", ehci_status(&e));
    periodic_into_monitor(&e, monitor);
    return 0;
}
