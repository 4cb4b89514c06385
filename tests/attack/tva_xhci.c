/* xHCI DMA at the monitor (issue 16's mediator, issue 12's attack classes): a qemu-xhci with a
 * usb-kbd on port 1 that no guest driver holds; the attacker resets the controller and drives
 * it through BAR0 (which the mediator hooks): Enable Slot, Address Device, then GET_DESCRIPTOR
 * with its Data Stage in the region, the same with the Data Stage TRB rewritten to the region
 * right after the doorbell, link TRBs that loop, and the guest's DCBAA entries pointing into
 * the region (the mediator copies the device's output context out through them). Each write
 * towards the monitor aims at its own slice of the heap canary (20, 21; 22 for the DCBAA, whose
 * context of up to 2 KiB would spill into 23); the power-off check decides. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tva.h"
#include "usb_hc.h"

enum { DCBAA, CMDS, EVENTS, EP0, INPUT, OUTPUT, BULKIN, BULKOUT, DATA, NPAGES };
enum { TRB_NORMAL_SETUP = 2, TRB_DATA = 3, TRB_STATUS = 4, TRB_LINK = 6, TRB_ENABLE_SLOT = 9, TRB_ADDRESS = 11,
       TRB_NOOP_CMD = 23, EV_TRANSFER = 32, EV_COMMAND = 33, CC_SUCCESS = 1, CC_SHORT = 13 };

static volatile uint32_t *cap, *op, *rt, *db;
static struct dpage pg[NPAGES];
static unsigned stride;
static unsigned xport = 1; /* the root port xhci_setup addresses */
static struct pcidev hc;

static struct xhci_rings xr;

static void trb(uint8_t *ring, unsigned i, uint64_t param, uint32_t status, uint32_t control)
{
    xhci_trb(ring, i, param, status, control);
}

/* The next event of `type` (others are skipped): its control word, or -1 after `secs`. */
static int next_event(int type, double secs, uint32_t *status)
{
    uint32_t c = 0;
    return xhci_next_event(&xr, type, secs, &c, status) < 0 ? -1 : (int)c;
}

/* A command; its completion code, or -1. *slot: the slot it names. */
static int command(uint64_t param, uint32_t control, uint32_t *slot) { return xhci_command(&xr, param, control, slot); }

/* Reset, rings, Enable Slot; the DCBAA entries as `entry0`/`entry_slot` say (0: the guest's own
 * output page); Address Device for the keyboard on port 1. Returns the slot, 0 on failure. */
static uint32_t xhci_setup(const char *name, uint64_t entry0, uint64_t entry_slot)
{
    if (pci_find(0, 0, 0xffffff, 0x0c0330, &hc) < 0 || !hc.bar[0]) {
        skipped(name, "no xHCI controller");
        return 0;
    }
    for (int i = 0; i < NPAGES; i++)
        if (dma_page(&pg[i])) {
            skipped(name, "no DMA pages");
            return 0;
        }
    pci_unbind(&hc);
    pci_cfg_write(&hc, 4, 2, pci_cfg_read(&hc, 4, 2) | 0x6);
    cap = devmem_map(hc.bar[0], 0x4000);
    if (!cap) {
        skipped(name, "cannot map BAR0");
        return 0;
    }
    op = cap + (cap[0] & 0xff) / 4;
    rt = cap + (cap[6] & ~0x1fu) / 4;
    db = cap + (cap[5] & ~3u) / 4;
    stride = (cap[4] & 4) ? 64 : 32;
    xr = (struct xhci_rings){op, rt, db, pg[EVENTS].v, pg[CMDS].v, pg[EVENTS].p, 0, 0};
    op[0] &= ~1u;
    sleep_ms(20);
    op[0] = 2; /* HCRST */
    for (double end = now_s() + 2; (op[0] & 2 || op[1] & (1u << 11)) && now_s() < end;)
        sleep_ms(1);
    op[0x38 / 4] = 4; /* 4 slots */
    uint32_t *erst = (uint32_t *)(pg[DCBAA].v + 0x800);
    erst[0] = (uint32_t)pg[EVENTS].p;
    erst[1] = (uint32_t)(pg[EVENTS].p >> 32);
    erst[2] = 16;
    hc_w64(op + 0x30 / 4, pg[DCBAA].p);
    hc_w64(op + 0x18 / 4, pg[CMDS].p | 1);
    rt[(0x20 + 0x08) / 4] = 1;
    hc_w64(rt + (0x20 + 0x10) / 4, pg[DCBAA].p + 0x800);
    hc_w64(rt + (0x20 + 0x18) / 4, pg[EVENTS].p);
    op[0] = 1;
    sleep_ms(10);
    uint32_t slot = 0;
    int code = command(0, TRB_ENABLE_SLOT << 10, &slot);
    if (code != CC_SUCCESS || !slot || slot > 4) {
        skipped(name, "Enable Slot failed (code %d)", code);
        return 0;
    }
    uint64_t *dcbaa = (uint64_t *)pg[DCBAA].v;
    dcbaa[0] = entry0;
    dcbaa[slot] = entry_slot ? entry_slot : pg[OUTPUT].p;
    uint32_t *in = (uint32_t *)pg[INPUT].v;
    in[1] = 3; /* add the slot and endpoint 0 */
    uint32_t *sc = (uint32_t *)(pg[INPUT].v + stride), *ep0 = (uint32_t *)(pg[INPUT].v + 2 * stride);
    sc[0] = 1u << 27;
    sc[1] = xport << 16; /* the root hub port */
    ep0[1] = 3u << 1 | 4u << 3 | 64u << 16;
    ep0[2] = (uint32_t)pg[EP0].p | 1;
    ep0[3] = (uint32_t)(pg[EP0].p >> 32);
    ep0[4] = 8;
    code = command(pg[INPUT].p, TRB_ADDRESS << 10 | slot << 24, NULL);
    if (code != CC_SUCCESS) {
        skipped(name, "Address Device failed (code %d): no device on port %u?", code, xport);
        return 0;
    }
    note("xHCI %s, slot %u addressed", hc.bdf, slot);
    return slot;
}

/* GET_DESCRIPTOR(device, 64 bytes) with its Data Stage at `data`; hook runs right after the
 * doorbell. Returns the transfer event's completion code, or -1. */
static int get_descriptor(uint32_t slot, uint64_t data, void (*hook)(void))
{
    trb(pg[EP0].v, 0, 0x0040000001000680ull, 8, TRB_NORMAL_SETUP << 10 | 1u << 6 | 3u << 16);
    trb(pg[EP0].v, 1, data, 64, TRB_DATA << 10 | 1u << 16);
    trb(pg[EP0].v, 2, 0, 0, TRB_STATUS << 10 | 1u << 5);
    db[slot] = 1;
    if (hook)
        hook();
    uint32_t s = 0;
    return next_event(EV_TRANSFER, 2.0, &s) < 0 ? -1 : (int)(s >> 24);
}

static int landed(const uint8_t *b) { return b[0] == 18 && b[1] == 1; } /* a device descriptor */

static void xhci_data_stage_into_monitor(const char *name)
{
    uint32_t slot = xhci_setup(name, 0, 0);
    if (!slot)
        return;
    int code = get_descriptor(slot, slice(20), NULL);
    if (code == CC_SUCCESS || code == CC_SHORT)
        breach(name, "GET_DESCRIPTOR with its Data Stage in the region completed (code %d)", code);
    else
        defended(name, "GET_DESCRIPTOR with its Data Stage in the region: completion code %d (the power-off check "
                       "decides)", code);
}

static void rewrite_data_stage(void)
{
    uint32_t *t = (uint32_t *)(pg[EP0].v + 16);
    t[0] = (uint32_t)slice(21);
    t[1] = (uint32_t)(slice(21) >> 32);
    barrier();
}

static void xhci_trb_rewritten_after_doorbell(const char *name)
{
    uint32_t slot = xhci_setup(name, 0, 0);
    if (!slot)
        return;
    uint8_t *buf = pg[OUTPUT].v + 0x800;
    memset(buf, 0, 64);
    int code = get_descriptor(slot, pg[OUTPUT].p + 0x800, rewrite_data_stage);
    if (landed(buf))
        defended(name, "the descriptor landed in the buffer the Data Stage named at the doorbell (code %d)", code);
    else
        breach(name, "the descriptor did not land where the TRB said at the doorbell (code %d): the rewrite "
                     "was followed", code);
}

static void xhci_link_loop(const char *name)
{
    uint32_t slot = xhci_setup(name, 0, 0);
    if (!slot)
        return;
    trb(pg[EP0].v, 0, pg[EP0].p, 0, TRB_LINK << 10); /* a transfer ring that links to itself */
    db[slot] = 1;
    uint32_t s = 0;
    int ev = next_event(EV_TRANSFER, 0.5, &s);
    int noop = command(0, TRB_NOOP_CMD << 10, NULL); /* the controller still serves commands */
    trb(pg[CMDS].v, xr.cmd_idx, pg[CMDS].p + xr.cmd_idx * 16, 0, TRB_LINK << 10); /* the command ring too */
    db[0] = 0;
    int ev2 = next_event(EV_COMMAND, 0.5, &s);
    if (noop != CC_SUCCESS)
        breach(name, "after a self-linked transfer ring the controller no longer completes a No-Op (code %d)", noop);
    else
        defended(name, "self-linked transfer ring: %s; No-Op after it completed; self-linked command ring: %s "
                       "(the monitor must live on)", ev < 0 ? "no event" : "an event", ev2 < 0 ? "no event" : "an event");
}

static void xhci_dcbaa_at_monitor(const char *name)
{
    uint32_t slot = xhci_setup(name, slice(22), slice(22));
    if (!slot)
        return;
    uint8_t *buf = pg[OUTPUT].v + 0x800;
    memset(buf, 0, 64);
    int code = get_descriptor(slot, pg[OUTPUT].p + 0x800, NULL); /* events copy the context out again */
    defended(name, "DCBAA entries 0 and %u in the region through Address Device and a transfer (code %d, descriptor "
                   "%s): the power-off check decides", slot, code, landed(buf) ? "received" : "not received");
}

const struct attack xhci_attacks[] = {
    {"xhci-data-stage-into-monitor", xhci_data_stage_into_monitor},
    {"xhci-trb-rewritten-after-doorbell", xhci_trb_rewritten_after_doorbell},
    {"xhci-link-loop", xhci_link_loop},
    {"xhci-dcbaa-at-monitor", xhci_dcbaa_at_monitor},
    {NULL, NULL},
};

/* ---- A denied stick's hidden port (fatal boot: `[usb] storage = deny`, a usb-storage stick
 * on its own qemu-xhci, sector 0 holding STICK_MARK). The attacker enumerates the stick itself
 * (the monitor learns its identity from the guest's enumeration), sends a READ(10): refused, and
 * the port then reads empty (drivers/usb/xhci_ports.cpp). Then it writes PR, PED, CSC and WRC to
 * that PORTSC, addresses the device again in a new slot and reads sector 0 through it. The
 * port must stay empty and the stick's data never reach the guest. */
#define STICK_MARK "TV-DENIED-STICK-7c41"
enum { TRB_NORMAL = 1, TRB_DISABLE_SLOT = 10, TRB_CONFIG_EP = 12, PORT_CCS = 1u << 0, PORT_PED = 1u << 1, PORT_PR = 1u << 4,
       PORT_PP = 1u << 9, PORT_CSC = 1u << 17, PORT_WRC = 1u << 19 };

static volatile uint32_t *portsc(unsigned port) { return op + (0x400 + (port - 1) * 0x10) / 4; }

/* A control transfer on endpoint 0: an 8-byte setup, an IN Data Stage of `len` at `data` (none
 * when len is 0). Returns the completion code of its last event, or -1. */
static int control(uint32_t slot, unsigned *ring, uint64_t setup, uint64_t data, uint32_t len)
{
    trb(pg[EP0].v, (*ring)++, setup, 8, TRB_NORMAL_SETUP << 10 | 1u << 6 | (len ? 3u : 0u) << 16);
    if (len)
        trb(pg[EP0].v, (*ring)++, data, len, TRB_DATA << 10 | 1u << 16);
    trb(pg[EP0].v, (*ring)++, 0, 0, TRB_STATUS << 10 | 1u << 5 | (len ? 0u : 1u << 16));
    db[slot] = 1;
    uint32_t s = 0;
    return next_event(EV_TRANSFER, 2.0, &s) < 0 ? -1 : (int)(s >> 24);
}

/* Bulk IN endpoint 1 (DCI 3) and bulk OUT endpoint 2 (DCI 4), QEMU's usb-storage. */
static int configure_bulk(uint32_t slot, unsigned port)
{
    memset(pg[INPUT].v, 0, 4096);
    uint32_t *in = (uint32_t *)pg[INPUT].v;
    in[1] = 1u | 1u << 3 | 1u << 4;
    uint32_t *sc = (uint32_t *)(pg[INPUT].v + stride);
    sc[0] = 4u << 27;
    sc[1] = port << 16;
    for (int dci = 3; dci <= 4; dci++) {
        uint32_t *ep = (uint32_t *)(pg[INPUT].v + (1 + dci) * stride);
        struct dpage *r = dci == 3 ? &pg[BULKIN] : &pg[BULKOUT];
        ep[1] = 3u << 1 | (dci == 3 ? 6u : 2u) << 3 | 1024u << 16;
        ep[2] = (uint32_t)r->p | 1;
        ep[3] = (uint32_t)(r->p >> 32);
        ep[4] = 512;
    }
    return command(pg[INPUT].p, TRB_CONFIG_EP << 10 | slot << 24, NULL);
}

/* READ(10) of sector 0 by Bulk-Only: CBW out, 512 bytes in at DATA, CSW in. Returns the data
 * stage's completion code (or -1). */
static int bot_read0(uint32_t slot, unsigned *in_i, unsigned *out_i)
{
    uint8_t *cbw = pg[DATA].v + 0x400;
    memset(pg[DATA].v, 0, 0x800);
    memcpy(cbw, "USBC", 4);
    cbw[4] = 0x11;
    cbw[8] = 0x00, cbw[9] = 0x02; /* 512 bytes */
    cbw[12] = 0x80, cbw[14] = 10;
    cbw[15] = 0x28, cbw[23] = 1; /* READ(10), LBA 0, one block */
    uint32_t s = 0;
    trb(pg[BULKOUT].v, (*out_i)++, pg[DATA].p + 0x400, 31, TRB_NORMAL << 10 | 1u << 5);
    db[slot] = 4;
    next_event(EV_TRANSFER, 2.0, &s);
    trb(pg[BULKIN].v, (*in_i)++, pg[DATA].p, 512, TRB_NORMAL << 10 | 1u << 5 | 1u << 2);
    db[slot] = 3;
    int code = next_event(EV_TRANSFER, 2.0, &s) < 0 ? -1 : (int)(s >> 24);
    trb(pg[BULKIN].v, (*in_i)++, pg[DATA].p + 0x600, 13, TRB_NORMAL << 10 | 1u << 5 | 1u << 2);
    db[slot] = 3;
    next_event(EV_TRANSFER, 2.0, &s);
    return code;
}

static int stick_data_seen(void) { return memmem(pg[DATA].v, 0x800, STICK_MARK, strlen(STICK_MARK)) != NULL; }

static void xhci_hidden_port(const char *name)
{
    if (pci_find(0, 0, 0xffffff, 0x0c0330, &hc) < 0 || !hc.bar[0]) {
        skipped(name, "no xHCI controller");
        return;
    }
    /* xhci_setup resets the controller first; the port is found after that reset. */
    cap = devmem_map(hc.bar[0], 0x4000);
    if (!cap) {
        skipped(name, "cannot map BAR0");
        return;
    }
    op = cap + (cap[0] & 0xff) / 4;
    xport = 0;
    for (unsigned p = 1; p <= (cap[1] >> 24) && p <= 16 && !xport; p++)
        if (*portsc(p) & PORT_CCS)
            xport = p;
    if (!xport) {
        skipped(name, "no device on the xHCI's ports");
        return;
    }
    uint32_t slot = xhci_setup(name, 0, 0);
    if (!slot)
        return;
    unsigned ep0 = 0, in_i = 0, out_i = 0; /* ring indices: each ring is a fresh page, no wrap needed */
    uint8_t *d = pg[OUTPUT].v + 0x800;
    int c1 = control(slot, &ep0, 0x0012000001000680ull, pg[OUTPUT].p + 0x800, 18); /* device descriptor */
    uint8_t iserial = d[16];
    int c2 = iserial ? control(slot, &ep0, 0x00ff040903000680ull | (uint64_t)iserial << 16, pg[OUTPUT].p + 0xa00,
                               255) : 0;
    /* the configuration descriptor: the monitor allows SET_CONFIGURATION of one it has seen */
    control(slot, &ep0, 0x00ff000002000680ull, pg[OUTPUT].p + 0xc00, 255);
    int c3 = control(slot, &ep0, 0x0000000000010900ull, 0, 0); /* SET_CONFIGURATION 1 */
    int c4 = configure_bulk(slot, xport);
    int first = bot_read0(slot, &in_i, &out_i);
    int seen_first = stick_data_seen();
    sleep_ms(100);
    uint32_t before = *portsc(xport);
    note("stick on port %u: descriptor %d, serial %d, configuration %d, endpoints %d; READ(10) %d; PORTSC %#x", xport,
         c1, c2, c3, c4, first, before);
    if (before & PORT_CCS) {
        breach(name, "the denied stick's port still reads connected after its refused first command (PORTSC %#x)",
               before);
        return;
    }
    *portsc(xport) = PORT_PP | PORT_PR | PORT_PED | PORT_CSC | PORT_WRC;
    sleep_ms(100);
    uint32_t after = *portsc(xport);
    /* Slot 1 given up first: the controller addresses a port's device in one slot only. */
    int dis = command(0, TRB_DISABLE_SLOT << 10 | slot << 24, NULL);
    uint32_t slot2 = 0;
    int en = command(0, TRB_ENABLE_SLOT << 10, &slot2);
    int addr = -1, second = -1, seen_second = 0;
    if (en == CC_SUCCESS && slot2 && slot2 <= 4) {
        ((uint64_t *)pg[DCBAA].v)[slot2] = pg[DATA].p + 0x800; /* 2 KiB of output context */
        memset(pg[EP0].v, 0, 4096);
        uint32_t *ctx = (uint32_t *)(pg[INPUT].v + 2 * stride);
        memset(pg[INPUT].v, 0, 4096);
        ((uint32_t *)pg[INPUT].v)[1] = 3;
        ((uint32_t *)(pg[INPUT].v + stride))[0] = 1u << 27;
        ((uint32_t *)(pg[INPUT].v + stride))[1] = xport << 16;
        ctx[1] = 3u << 1 | 4u << 3 | 512u << 16;
        ctx[2] = (uint32_t)pg[EP0].p | 1;
        ctx[3] = (uint32_t)(pg[EP0].p >> 32);
        ctx[4] = 8;
        addr = command(pg[INPUT].p, TRB_ADDRESS << 10 | slot2 << 24, NULL);
        memset(pg[BULKIN].v, 0, 4096);
        memset(pg[BULKOUT].v, 0, 4096);
        in_i = out_i = 0;
        ep0 = 0;
        control(slot2, &ep0, 0x00ff000002000680ull, pg[DATA].p + 0x200, 255);
        control(slot2, &ep0, 0x0000000000010900ull, 0, 0);
        if (configure_bulk(slot2, xport) == CC_SUCCESS)
            second = bot_read0(slot2, &in_i, &out_i);
        seen_second = stick_data_seen();
    }
    uint32_t last = *portsc(xport);
    if (seen_first || seen_second)
        breach(name, "the denied stick's sector 0 reached the guest (%s read)", seen_first ? "first" : "second");
    else if ((after | last) & PORT_CCS)
        breach(name, "the hidden port reads connected again (PORTSC %#x after PR/PED/CSC/WRC, %#x at the end)", after,
               last);
    else
        defended(name, "port %u stayed empty (PORTSC %#x after PR/PED/CSC/WRC, %#x at the end); the device addressed "
                       "again in slot %u (Disable Slot %d, Enable Slot %d, Address Device %d), READ(10) %d/%d: no "
                       "sector data", xport, after, last, slot2, dis, en, addr, first, second);
}

const struct attack xhci_hidden_attacks[] = {
    {"xhci-hidden-port", xhci_hidden_port},
    {NULL, NULL},
};
