/* The hostile guest of tests/suites/usb_xhci.py: after the unmodified driver's run, it unbinds
 * xhci_hcd and drives the (mediated) controller by hand through /dev/mem, with DMA pages found
 * through /proc/self/pagemap: Enable Slot, Address Device (BSR) for endpoint 0, then a control
 * transfer whose Data Stage buffer points into the monitor's region, then a link TRB that
 * points at itself on the command ring. The monitor must refuse both and log them; the guest
 * reports what it saw as "TV-XHCI-ATTACK name: ..." lines. Argument: the monitor's base
 * (thinvisor-ctl range). Built static by the suite; not part of the guest image. Finding and
 * taking the controller is shared with the EHCI program and tvattack (tests/attack/usb_hc.h). */
#include "../attack/usb_hc.h"

static volatile uint32_t *cap, *op, *rt, *db;
static uint8_t *page[6];
static uint64_t phys[6];
enum { DCBAA, CMDS, EVENTS, EP0, INPUT, OUTPUT };
static struct xhci_rings xr;

int main(int argc, char **argv)
{
    uint64_t monitor = argc > 1 ? strtoull(argv[1], 0, 0) : 0, bar = 0;
    char bdf[300];
    if (!monitor || hc_find(0x0c0330, bdf, sizeof bdf, &bar) || !bar) {
        printf("TV-XHCI-ATTACK setup: no monitor range or no xHCI\n");
        return 1;
    }
    cap = hc_take(bdf, bar, 0x4000, "TV-XHCI-ATTACK");
    if (!cap || hc_dma_pages(6, page, phys)) {
        printf("TV-XHCI-ATTACK setup: cannot map BAR0 %#llx or find DMA pages\n", (unsigned long long)bar);
        return 1;
    }
    op = cap + (cap[0] & 0xff) / 4;
    rt = cap + (cap[6] & ~0x1fu) / 4;
    db = cap + (cap[5] & ~3u) / 4;
    unsigned stride = (cap[4] & 4) ? 64 : 32;
    xr = (struct xhci_rings){op, rt, db, page[EVENTS], page[CMDS], phys[EVENTS], 0, 0};
    op[0] &= ~1u;
    hc_sleep_ms(20);
    op[0] = 2; /* HCRST */
    for (double end = hc_now() + 2; (op[0] & 2 || op[1] & (1u << 11)) && hc_now() < end;) hc_sleep_ms(1);
    op[0x38 / 4] = 1;
    uint64_t *dcbaa = (uint64_t *)page[DCBAA];
    dcbaa[1] = phys[OUTPUT];
    uint32_t *erst = (uint32_t *)(page[DCBAA] + 0x800);
    erst[0] = (uint32_t)phys[EVENTS];
    erst[1] = (uint32_t)(phys[EVENTS] >> 32);
    erst[2] = 16;
    hc_w64(op + 0x30 / 4, phys[DCBAA]);
    hc_w64(op + 0x18 / 4, phys[CMDS] | 1);
    rt[(0x20 + 0x08) / 4] = 1;
    hc_w64(rt + (0x20 + 0x10) / 4, phys[DCBAA] + 0x800);
    hc_w64(rt + (0x20 + 0x18) / 4, phys[EVENTS]);
    op[0] = 1;
    hc_sleep_ms(10);

    uint32_t slot = 0;
    int code = xhci_command(&xr, 0, 9u << 10, &slot); /* Enable Slot */
    printf("TV-XHCI-ATTACK enable-slot: code %d slot %u\n", code, slot);
    uint32_t *in = (uint32_t *)page[INPUT];
    in[1] = 3; /* add the slot and endpoint 0 */
    uint32_t *sc = (uint32_t *)(page[INPUT] + stride), *ep0 = (uint32_t *)(page[INPUT] + 2 * stride);
    sc[0] = 1u << 27;
    sc[1] = 1u << 16; /* root hub port 1 */
    ep0[1] = 3u << 1 | 4u << 3 | 64u << 16;
    ep0[2] = (uint32_t)phys[EP0] | 1;
    ep0[3] = (uint32_t)(phys[EP0] >> 32);
    ep0[4] = 8;
    uint32_t s2 = 0;
    code = xhci_command(&xr, phys[INPUT], 11u << 10 | 1u << 9 | slot << 24, &s2); /* Address Device, BSR */
    printf("TV-XHCI-ATTACK address-device: code %d\n", code);

    /* GET_DESCRIPTOR(device, 64 bytes) into the monitor. */
    xhci_trb(page[EP0], 0, 0x0040000001000680ull, 8, 2u << 10 | 1u << 6 | 3u << 16);
    xhci_trb(page[EP0], 1, monitor + 0x100, 64, 3u << 10 | 1u << 16);
    xhci_trb(page[EP0], 2, 0, 0, 4u << 10 | 1u << 5);
    db[slot] = 1;
    uint32_t c = 0, s = 0;
    int got = xhci_next_event(&xr, -1, 2.0, &c, &s);
    printf("TV-XHCI-ATTACK buffer-into-monitor: sent; %s %u\n", got ? "no event" : "event code", got ? 0 : s >> 24);

    xhci_trb(page[CMDS], xr.cmd_idx, phys[CMDS] + xr.cmd_idx * 16, 0, 6u << 10); /* a link to itself */
    db[0] = 0;
    got = xhci_next_event(&xr, -1, 1.0, &c, &s);
    printf("TV-XHCI-ATTACK link-loop: sent; %s\n", got ? "no event" : "an event");
    return 0;
}
