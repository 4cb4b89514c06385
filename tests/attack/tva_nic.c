/* e1000 DMA at the monitor (the e1000 driver is unbound first; the attacker programs the rings
 * through BAR0, which the mediator hooks): TX buffers in the region, TX descriptors rewritten
 * after the tail write (TOCTOU), the TX ring in the region, malformed descriptors, RX buffers
 * in the region, and RX copies that run past the frame into the monitor's canary tails.
 * What leaves on the wire is judged by the host (QEMU filter-dump of the netdev). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "tva.h"

enum { CTRL = 0x0, ICR = 0xc0, IMC = 0xd8, RCTL = 0x100, TCTL = 0x400, TIPG = 0x410, RDBAL = 0x2800,
       RDBAH = 0x2804, RDLEN = 0x2808, RDH = 0x2810, RDT = 0x2818, TDBAL = 0x3800, TDBAH = 0x3804,
       TDLEN = 0x3808, TDH = 0x3810, TDT = 0x3818, RAL0 = 0x5400, RAH0 = 0x5404 };
enum { NDESC = 16, NRXBUF = NDESC / 2 }; /* two 2 KiB receive buffers per page */

struct txd {
    uint64_t addr;
    uint16_t len;
    uint8_t cso, cmd, sta, css;
    uint16_t special;
};
struct rxd {
    uint64_t addr;
    uint16_t len, csum;
    uint8_t sta, err;
    uint16_t special;
};

static struct pcidev nic;
static volatile uint32_t *bar;
static struct dpage txr, rxr, frame, rxbuf[NRXBUF];
static uint8_t mac[6];
static unsigned tail;
static int nic_ready = -1;
static int nic_index; /* 0: the mediated e1000; 1: a second one nobody mediates */

static uint32_t rd(int r)
{
    barrier();
    uint32_t v = bar[r / 4];
    barrier();
    return v;
}
static void wr(int r, uint32_t v)
{
    barrier();
    bar[r / 4] = v;
    barrier();
}

static void tx_ring(uint64_t base, uint32_t len)
{
    wr(TCTL, 0);
    wr(TDBAL, (uint32_t)base);
    wr(TDBAH, (uint32_t)(base >> 32));
    wr(TDLEN, len);
    wr(TDH, 0);
    wr(TDT, 0);
    tail = 0;
    wr(TCTL, 1u << 1 | 1u << 3 | 0x0fu << 4 | 0x40u << 12);
}

static int nic_setup(const char *name)
{
    if (nic_ready >= 0) {
        if (!nic_ready)
            skipped(name, "no e1000");
        return nic_ready;
    }
    nic_ready = 0;
    if (pci_find_nth(0x8086, 0x100e, 0, 0, nic_index, &nic) < 0 || !nic.bar[0] || dma_page(&txr) || dma_page(&rxr) ||
        dma_page(&frame)) {
        skipped(name, "no e1000");
        return 0;
    }
    for (int i = 0; i < NRXBUF; i++)
        if (dma_page(&rxbuf[i]))
            return 0;
    if (pci_unbind(&nic) < 0)
        note("could not unbind e1000 from %s", nic.bdf);
    pci_cfg_write(&nic, 4, 2, pci_cfg_read(&nic, 4, 2) | 0x6);
    bar = devmem_map(nic.bar[0], 0x20000);
    if (!bar) {
        skipped(name, "cannot map BAR0");
        return 0;
    }
    wr(IMC, 0xffffffffu);
    wr(CTRL, rd(CTRL) | 1u << 6); /* set link up */
    wr(TIPG, 10 | 8 << 10 | 6 << 20);
    uint32_t lo = rd(RAL0), hi = rd(RAH0);
    memcpy(mac, &lo, 4);
    memcpy(mac + 4, &hi, 2);
    tx_ring(txr.p, NDESC * 16);
    nic_ready = 1;
    note("e1000 %s, MAC %02x:%02x:%02x:%02x:%02x:%02x", nic.bdf, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return 1;
}

/* An Ethernet header (broadcast, local ethertype 0x88b5) in frame.v; returns its length. */
static int header(void)
{
    memset(frame.v, 0xff, 6);
    memcpy(frame.v + 6, mac, 6);
    frame.v[12] = 0x88, frame.v[13] = 0xb5;
    return 14;
}

static void put(uint64_t addr, uint16_t len, int eop)
{
    struct txd *d = (struct txd *)txr.v + tail % NDESC;
    memset(d, 0, sizeof *d);
    d->addr = addr;
    d->len = len;
    d->cmd = (uint8_t)((eop ? 0x01 : 0) | 0x02 | 0x08); /* EOP, IFCS, RS */
    tail++;
}

static int kick(void (*hook)(void))
{
    wr(TDT, tail % NDESC);
    if (hook)
        hook();
    double end = now_s() + 1;
    while (rd(TDH) != tail % NDESC && now_s() < end)
        ;
    return rd(TDH) == tail % NDESC;
}

static void e1000_tx_from_monitor(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    put(frame.p, (uint16_t)header(), 0);
    put(T.heap ? T.heap : T.data, 1024, 1); /* a place no attack writes */
    int sent = kick(NULL);
    defended(name, "a frame with its payload in the region was %s (the host checks the wire)",
             sent ? "processed" : "not processed");
}

/* The control for the TOCTOU attack: the same frame (999 bytes of 0x55), nothing rewritten.
 * The host checks that it reaches the wire as written. */
static void e1000_tx_plain(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    int h = header();
    memset(frame.v + h, 0x55, 999);
    put(frame.p, (uint16_t)(h + 999), 1);
    int sent = kick(NULL);
    defended(name, "a well-formed frame was %s (the host checks it on the wire)", sent ? "processed" : "not processed");
}

static void rewrite_last_to_code(void) { ((struct txd *)txr.v)[(tail - 1) % NDESC].addr = T.data; }

static void e1000_tx_toctou(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    int h = header();
    memset(frame.v + h, 0x66, 1000);
    put(frame.p, (uint16_t)(h + 1000), 1);
    int sent = kick(rewrite_last_to_code);
    defended(name, "descriptor rewritten to the region after TDT; %s (the host checks the wire)",
             sent ? "processed" : "not processed");
}

static void e1000_tx_ring_in_monitor(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    tx_ring(slice(14), 128);
    wr(TDT, 4);
    sleep_ms(100);
    uint32_t tdh = rd(TDH);
    tx_ring(txr.p, NDESC * 16);
    defended(name, "TX ring in the region: TDH %u after TDT 4 (the host checks the wire)", tdh);
}

static void e1000_tx_malformed(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    put(frame.p, 0, 1); /* zero length */
    put(frame.p, 0xffff, 1); /* longer than any frame, past the page */
    put(0xfffffffffffff000ull, 4096, 1); /* wraps the address space */
    kick(NULL);
    wr(TDT, NDESC + 5); /* tail past the ring */
    sleep_ms(50);
    wr(TDLEN, 100); /* not a multiple of 128 */
    wr(TDT, 1);
    sleep_ms(50);
    tx_ring(txr.p, NDESC * 16);
    defended(name, "zero-length, oversized and wrapping descriptors, a tail past the ring and a bad TDLEN: "
                   "the monitor carried on");
}

static void rx_ring(uint64_t (*addr_of)(int))
{
    wr(RCTL, 0);
    struct rxd *r = (struct rxd *)rxr.v;
    for (int i = 0; i < NDESC; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].addr = addr_of(i);
    }
    wr(RDBAL, (uint32_t)rxr.p);
    wr(RDBAH, 0);
    wr(RDLEN, NDESC * 16);
    wr(RDH, 0);
    wr(RDT, NDESC - 1);
    wr(RCTL, 1u << 1 | 1u << 3 | 1u << 4 | 1u << 15 | 1u << 26); /* EN UPE MPE BAM SECRC, 2048 */
    wr(RDT, NDESC - 1); /* the tail again once enabled, as Linux's driver does */
}

/* ARP requests for the user-mode network's gateway: each gets a reply. */
static void provoke_replies(int n)
{
    for (int k = 0; k < n; k++) {
        uint8_t *f = frame.v;
        memset(f, 0, 60);
        memset(f, 0xff, 6);
        memcpy(f + 6, mac, 6);
        f[12] = 0x08, f[13] = 0x06;
        const uint8_t arp[8] = {0, 1, 8, 0, 6, 4, 0, 1};
        memcpy(f + 14, arp, 8);
        memcpy(f + 22, mac, 6);
        const uint8_t spa[4] = {10, 0, 2, 15}, tpa[4] = {10, 0, 2, 2};
        memcpy(f + 28, spa, 4);
        memcpy(f + 38, tpa, 4);
        put(frame.p, 60, 1);
        kick(NULL);
        sleep_ms(30);
        (void)rd(RDH); /* the mediator copies received frames at RDH reads */
        (void)rd(ICR);
    }
}

/* Waits up to 2 s for the replies: on a loaded host the user-mode network answers later than
 * the 30 ms between requests, and a frame counts only once the mediator has handled it. */
static void await_rx(void)
{
    for (int t = 0; t < 200; t++) {
        uint32_t rdh = rd(RDH); /* the mediator copies received frames at RDH reads */
        (void)rd(ICR);
        int dd = 0;
        for (int i = 0; i < NDESC; i++)
            dd += ((struct rxd *)rxr.v)[i].sta & 1;
        if (rdh != 0 || dd)
            return;
        sleep_ms(10);
    }
}

static uint64_t rx_into_monitor_addr(int i) { return (void)i, slice(8); }
static uint64_t rx_guest_addr(int i) { return rxbuf[i / 2].p + (uint64_t)(i % 2) * 2048; }

static void e1000_rx_into_monitor(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    rx_ring(rx_into_monitor_addr);
    provoke_replies(4);
    await_rx();
    uint32_t rdh = rd(RDH);
    int dd = 0;
    for (int i = 0; i < NDESC; i++)
        dd += ((struct rxd *)rxr.v)[i].sta & 1;
    wr(RCTL, 0);
    if (rdh == 0 && !dd)
        skipped(name, "no frame reached the guest's receive ring");
    else
        defended(name, "RX buffers in the region: RDH %u, %d descriptors done (the power-off check decides)", rdh,
                 dd);
}

static void e1000_rx_copy_overrun(const char *name)
{
    if (nic_setup(name) != 1)
        return;
    for (int i = 0; i < NRXBUF; i++)
        memset(rxbuf[i].v, 0, 4096);
    rx_ring(rx_guest_addr);
    provoke_replies(4);
    await_rx();
    int frames = 0, leaks = 0;
    struct rxd *r = (struct rxd *)rxr.v;
    for (int i = 0; i < NDESC; i++) {
        if (!(r[i].sta & 1))
            continue;
        frames++;
        uint8_t *b = rxbuf[i / 2].v + (i % 2) * 2048;
        if (r[i].len < 2048 && (!all_zero(b + r[i].len, 2048 - r[i].len) || has_canary_prefix(b, 2048))) {
            leaks++;
            hexdump_line(name, b + 1536, 64);
        }
    }
    wr(RCTL, 0);
    if (leaks)
        breach(name, "%d of %d received buffers hold bytes past the frame", leaks, frames);
    else if (!frames)
        skipped(name, "no frame reached the guest's receive ring");
    else
        defended(name, "%d frames received, nothing past their ends", frames);
}

/* Issue 12, item 3: a bus master the monitor does not mediate (a second e1000) sends from the
 * monitor's heap; only an IOMMU or a bus-master policy stops it. The host checks its wire. */
static void dma_unmediated_nic(const char *name)
{
    nic_index = 1;
    if (nic_setup(name) != 1)
        return;
    put(frame.p, (uint16_t)header(), 0);
    put(T.heap ? T.heap : T.data, 1024, 1);
    int sent = kick(NULL);
    int bme = pci_cfg_read(&nic, 4, 2) & 0x4;
    defended(name,
             "the second e1000 %s a frame with its payload in the region, its Bus Master Enable %s (the host "
             "checks its wire)",
             sent ? "processed" : "did not process", bme ? "set" : "refused");
}

/* The IOMMU attacks run in the fatal boot, whose only e1000 no mediator owns (no [network]):
 * under an IOMMU it keeps bus mastering, and its DMA goes through the guarded domain. */
static int iommu_nic_setup(const char *name)
{
    nic_index = 0;
    if (nic_setup(name) != 1)
        return 0;
    if (!(pci_cfg_read(&nic, 4, 2) & 0x4)) {
        skipped(name, "its Bus Master Enable was refused: no IOMMU, the bus-master policy stopped it");
        return 0;
    }
    return 1;
}

/* TX from the monitor's heap (the host checks the wire for canary bytes), then a control frame
 * from guest memory (791 bytes: 14 + 777 x 0x77, which the host must find on the wire). */
static void iommu_nic_tx_from_monitor(const char *name)
{
    if (!iommu_nic_setup(name))
        return;
    put(frame.p, (uint16_t)header(), 0);
    put(T.heap ? T.heap : T.data, 1024, 1);
    int sent = kick(NULL);
    int h = header();
    memset(frame.v + h, 0x77, 777);
    put(frame.p, (uint16_t)(h + 777), 1);
    int control = kick(NULL);
    defended(name, "a frame with its payload in the region %s, a control frame from guest memory %s (the host "
                   "checks the wire)", sent ? "processed" : "not processed", control ? "processed" : "not processed");
}

enum { MDIC = 0x20, BMCR_LOOPBACK = 0x4000, BMCR_DEFAULT = 0x1140 };

static void phy_loopback(int on)
{
    wr(MDIC, (uint32_t)(on ? BMCR_LOOPBACK | BMCR_DEFAULT : BMCR_DEFAULT) | 0u << 16 | 1u << 21 | 1u << 26);
    sleep_ms(5);
}

/* Frames of 0x99 looped back by the PHY into the receive ring; *good: how many of the done
 * descriptors' guest buffers hold the frame. QEMU's e1000 receives nothing for a second after
 * an RCTL write (its flush-queue timer), so the frames wait for that. */
static int loop_frames(int n, int *good)
{
    int frames = 0;
    *good = 0;
    sleep_ms(1100);
    for (int k = 0; k < n; k++) {
        int h = header();
        memset(frame.v + h, 0x99, 200);
        put(frame.p, (uint16_t)(h + 200), 1);
        kick(NULL);
    }
    sleep_ms(50);
    struct rxd *r = (struct rxd *)rxr.v;
    for (int i = 0; i < NDESC; i++) {
        if (!(r[i].sta & 1))
            continue;
        frames++;
        uint64_t a = r[i].addr;
        for (int b = 0; b < NRXBUF; b++)
            if (a >= rxbuf[b].p && a < rxbuf[b].p + 4096 && rxbuf[b].v[a - rxbuf[b].p + 20] == 0x99)
                ++*good;
    }
    return frames;
}

/* RX into the monitor (slice 8 of the page canary; the power-off check decides), then RX into
 * guest memory as the control: the looped-back frames must land there. */
static void iommu_nic_rx_into_monitor(const char *name)
{
    if (!iommu_nic_setup(name))
        return;
    phy_loopback(1);
    rx_ring(rx_into_monitor_addr);
    int good = 0, attacked = loop_frames(4, &good);
    wr(RCTL, 0);
    for (int i = 0; i < NRXBUF; i++)
        memset(rxbuf[i].v, 0, 4096);
    rx_ring(rx_guest_addr);
    int control = loop_frames(4, &good);
    wr(RCTL, 0);
    phy_loopback(0);
    if (!control || good != control)
        breach(name, "the control frames did not land in guest memory (%d done, %d intact): the guarded domain "
                     "does not map the guest", control, good);
    else
        defended(name, "%d frames looped back into buffers in the region (the power-off check decides); %d into "
                       "guest memory arrived intact", attacked, good);
}

/* A frame received by DMA into 0xFEE00000 is a string of MSIs, its first dword 0x00000500 an
 * INIT to APIC 0. The MSI guard stops INIT only where the guest programs a function's MSI or
 * MSI-X registers; the DMA write is stopped by the monitor's AMD-Vi interrupt remapping (docs/
 * iommu.md, "Interrupt remapping on AMD-Vi"), not under VT-d. Run last in the INIT boot: an
 * INIT that gets through ends the guest. */
static uint64_t msi_window_addr(int i) { return (void)i, 0xfee00000ull; }

static void iommu_msi_init_by_dma(const char *name)
{
    if (!iommu_nic_setup(name))
        return;
    phy_loopback(1);
    rx_ring(msi_window_addr);
    sleep_ms(1100);
    const uint8_t init_msg[4] = {0x00, 0x05, 0x00, 0x00}; /* data 0x500: INIT, vector 0 */
    memset(frame.v, 0, 60); /* zeros: fixed delivery of vector 0, which the APIC drops */
    memcpy(frame.v, init_msg, 4);
    frame.v[12] = 0x88, frame.v[13] = 0x00; /* dword 3 is 0x0088: fixed delivery too */
    put(frame.p, 60, 1);
    kick(NULL);
    sleep_ms(200);
    wr(RCTL, 0);
    phy_loopback(0);
    defended(name, "a frame received into the MSI window as an INIT message: the boot CPU is still running");
}

const struct attack iommu_nic_attacks[] = {
    {"iommu-nic-tx-from-monitor", iommu_nic_tx_from_monitor},
    {"iommu-nic-rx-into-monitor", iommu_nic_rx_into_monitor},
    {NULL, NULL},
};

const struct attack iommu_init_attacks[] = {
    {"iommu-msi-init-by-dma", iommu_msi_init_by_dma},
    {NULL, NULL},
};

const struct attack nic_attacks[] = {
    {"e1000-tx-from-monitor", e1000_tx_from_monitor},
    {"e1000-tx-plain", e1000_tx_plain},
    {"e1000-tx-toctou", e1000_tx_toctou},
    {"e1000-tx-ring-in-monitor", e1000_tx_ring_in_monitor},
    {"e1000-tx-malformed", e1000_tx_malformed},
    {"e1000-rx-into-monitor", e1000_rx_into_monitor},
    {"e1000-rx-copy-overrun", e1000_rx_copy_overrun},
    {"dma-unmediated-nic", dma_unmediated_nic},
    {NULL, NULL},
};
