/* EHCI DMA at the monitor (issue 16/17's mediator, issue 12's attack classes): a usb-ehci with a
 * usb-storage stick that no guest driver holds. The attacker resets the controller, gives the
 * ports to EHCI, resets the stick's port (it answers at address 0) and builds asynchronous
 * schedules by hand (usb_hc.h): a GET_DESCRIPTOR whose Data Stage qTD reads into the region, a
 * QH whose horizontal link points into the region, a QH ring longer than the shadow that loops
 * back past its head, a qTD of more than 20 KiB, and a Data Stage qTD rewritten to the region
 * after the monitor gave the controller its shadow. Writes towards the monitor aim at the heap
 * canary's slices 16 (the qTD buffer at its start, the QH link at its middle) and 17; the
 * power-off check decides, and the suite checks that each refusal is in the monitor's log
 * (attacks.py, REFUSALS). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "tva.h"
#include "usb_hc.h"

static struct pcidev hc;
static struct dpage pg, data; /* pg: the schedule (ehci_sched layout); data: Data Stage buffers */
static struct ehci e;
static int ehci_ready = -1;

static int ehci_setup(const char *name)
{
    if (ehci_ready >= 0) {
        if (!ehci_ready)
            skipped(name, "no EHCI controller with a device on a port");
        return ehci_ready;
    }
    ehci_ready = 0;
    if (pci_find(0, 0, 0xffffff, 0x0c0320, &hc) < 0 || !hc.bar[0] || dma_page(&pg) || dma_page(&data)) {
        skipped(name, "no EHCI controller with a device on a port");
        return 0;
    }
    pci_unbind(&hc);
    pci_cfg_write(&hc, 4, 2, pci_cfg_read(&hc, 4, 2) | 0x6);
    volatile uint32_t *cap = devmem_map(hc.bar[0], 0x1000);
    if (!cap || ehci_take(&e, cap) < 0) {
        skipped(name, "EHCI %s: no device on any port after the reset", hc.bdf);
        return 0;
    }
    note("EHCI %s, the device on port %d, schedule page %#llx", hc.bdf, e.port + 1, (unsigned long long)pg.p);
    ehci_ready = 1;
    return 1;
}

/* Every schedule starts from a controller reset (the monitor drops its shadow) and a port
 * reset: the mediator keeps a QH's overlay once it imported it, so a schedule rebuilt in place
 * at the same addresses would not run again. */
static void fresh(void)
{
    ehci_stop(&e);
    if (ehci_take(&e, e.cap) < 0)
        note("EHCI: no device on any port after another reset");
    memset(pg.v, 0, 4096);
}

/* GET_DESCRIPTOR(device, 18 bytes) with its Data Stage at `buffer` (a qTD of `bytes`), run
 * from a fresh schedule; `between` (may be NULL) runs after ASYNCLISTADDR, before the schedule
 * is enabled. Returns the Data Stage's token as the guest reads it afterwards. */
static uint32_t get_descriptor(uint64_t buffer, uint32_t bytes, void (*between)(void))
{
    fresh();
    ehci_sched_build(pg.v, (uint32_t)pg.p, (uint32_t)buffer, bytes);
    ehci_run(&e, (uint32_t)pg.p, between, pg.v);
    return ehci_token(pg.v, EHCI_DATA);
}

static const char *state(uint32_t t) { return ehci_token_state(t); }

/* A control transfer into guest memory that must work: without it a refusal proves nothing. */
static int control_works(void)
{
    memset(data.v, 0, 64);
    uint32_t t = get_descriptor(data.p, 18, NULL);
    return !(t & (EHCI_ACTIVE | EHCI_HALTED)) && data.v[0] == 18 && data.v[1] == 1;
}

static void ehci_qtd_buffer_into_monitor(const char *name)
{
    if (ehci_setup(name) != 1)
        return;
    if (!control_works()) {
        skipped(name, "GET_DESCRIPTOR into guest memory does not complete here (token %08x)",
                ehci_token(pg.v, EHCI_DATA));
        return;
    }
    uint32_t t = get_descriptor(slice(16), 18, NULL);
    uint32_t setup = ehci_token(pg.v, EHCI_SETUP);
    if (!(t & (EHCI_ACTIVE | EHCI_HALTED)))
        breach(name, "the Data Stage qTD into the region completed (token %08x)", t);
    else if ((t & EHCI_ACTIVE) || (setup & EHCI_ACTIVE))
        breach(name, "the schedule never ran (Setup %08x, Data Stage %08x): the attack tested nothing", setup, t);
    else
        defended(name, "the Setup ran, the Data Stage qTD into the region came back halted (token %08x)", t);
}

static void ehci_qh_link_into_monitor(const char *name)
{
    if (ehci_setup(name) != 1)
        return;
    fresh();
    ehci_sched_build(pg.v, (uint32_t)pg.p, (uint32_t)data.p, 18);
    uint32_t *w = (uint32_t *)pg.v;
    w[EHCI_QH] = ((uint32_t)slice(16) + 256) | 2; /* the QH's horizontal link: a "QH" in heap slice 16 */
    ehci_run(&e, (uint32_t)pg.p, NULL, NULL);
    int works = control_works();
    defended(name, "a QH linked to the region; the controller %s a transfer afterwards (the power-off check and "
                   "the monitor's log decide)", works ? "still completes" : "no longer completes");
}

/* A ring of 40 QHs (the shadow holds 32) whose last links back to the second, not the head. */
static void ehci_qh_loop(const char *name)
{
    if (ehci_setup(name) != 1)
        return;
    fresh();
    uint32_t *w = (uint32_t *)pg.v;
    for (int i = 0; i < 40; i++) {
        uint32_t *q = w + i * 16;
        int next = i == 39 ? 1 : i + 1;
        q[0] = ((uint32_t)pg.p + (uint32_t)next * 64) | 2;
        q[1] = (64u << 16) | (1u << 14) | (2u << 12) | (i == 0 ? 1u << 15 : 0);
        q[2] = 1u << 30;
        q[4] = q[5] = 1; /* no qTDs */
        q[6] = 1u << 6;  /* halted */
    }
    barrier();
    ehci_run(&e, (uint32_t)pg.p, NULL, NULL);
    int works = control_works();
    if (!works)
        breach(name, "after a 40-QH loop the controller no longer completes a transfer (token %08x)",
               ehci_token(pg.v, EHCI_DATA));
    else
        defended(name, "a 40-QH ring looping past its head: the controller still completes a transfer afterwards "
                       "(the monitor's log decides)");
}

static void ehci_qtd_oversized(const char *name)
{
    if (ehci_setup(name) != 1)
        return;
    fresh();
    ehci_sched_build(pg.v, (uint32_t)pg.p, (uint32_t)data.p, 0x7fff); /* 32767 bytes: five pages hold 20 KiB */
    uint32_t *d = (uint32_t *)pg.v + EHCI_DATA;
    for (int b = 1; b < 5; b++)
        d[3 + b] = (uint32_t)data.p; /* every page piece in guest memory */
    barrier();
    ehci_run(&e, (uint32_t)pg.p, NULL, pg.v);
    uint32_t t = ehci_token(pg.v, EHCI_DATA);
    if (!(t & (EHCI_ACTIVE | EHCI_HALTED)))
        breach(name, "a 32767-byte qTD was run (token %08x)", t);
    else if (t & EHCI_ACTIVE)
        breach(name, "the schedule never ran (Data Stage %08x): the attack tested nothing", t);
    else
        defended(name, "a 32767-byte qTD came back halted (token %08x)", t);
}

static void rewrite_data_stage(void)
{
    uint32_t *d = (uint32_t *)pg.v + EHCI_DATA;
    d[3] = (uint32_t)slice(17);
    barrier();
    (void)ehci_status(&e); /* a sync: the monitor must not take the new buffer */
}

static void ehci_qtd_rewritten_after_shadow(const char *name)
{
    if (ehci_setup(name) != 1)
        return;
    memset(data.v, 0, 64);
    uint32_t t = get_descriptor(data.p, 18, rewrite_data_stage);
    int landed = data.v[0] == 18 && data.v[1] == 1;
    if (landed)
        defended(name, "the descriptor landed in the buffer the qTD named when the controller got it (token %08x)", t);
    else if (t & EHCI_HALTED)
        defended(name, "the rewritten qTD was checked again and refused (token %08x)", t);
    else
        breach(name, "the descriptor did not land where the qTD said when the controller got it (token %08x, %s)", t,
               state(t));
}

const struct attack ehci_attacks[] = {
    {"ehci-qtd-buffer-into-monitor", ehci_qtd_buffer_into_monitor},
    {"ehci-qh-link-into-monitor", ehci_qh_link_into_monitor},
    {"ehci-qh-loop", ehci_qh_loop},
    {"ehci-qtd-oversized", ehci_qtd_oversized},
    {"ehci-qtd-rewritten-after-shadow", ehci_qtd_rewritten_after_shadow},
    {NULL, NULL},
};
