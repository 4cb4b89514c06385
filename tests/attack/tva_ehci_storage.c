/* EHCI mass storage under `encrypt` (issue 12; the mediator is drivers/usb/ehci_storage.*,
 * docs/usb.md "EHCI"). The safe boot's usb-ehci stick (serial TVEHCISTK1, 4 MiB) is enrolled
 * ([disk.stick] bus = usb) and the rule is `[usb] storage = encrypt` (attacks.py, CONF). The
 * attacker takes the controller as tva_ehci.c does, enumerates the stick at address 0 by hand
 * (device, configuration and serial descriptors, SET_CONFIGURATION), reads its capacity and
 * then speaks Bulk-Only itself, one transfer per schedule: a head QH, the endpoint's QH and its
 * qTDs in a slot used once since the last controller reset (the mediator keeps the overlay of a
 * QH it imported), the async schedule off between transfers, as Linux sends a command's three
 * stages one after the other. Sectors the guest writes hold STICK_PLAIN, which the suite looks
 * for in the stick's image afterwards (it must find only ciphertext):
 *
 * - ehci-stick-write-plaintext: 8 sectors written and read back through the monitor;
 * - ehci-cbw-rewritten-after-copy: a READ(10)'s CBW moved to another LBA, and a WRITE(10)'s
 *   CBW moved to another LBA, each after the monitor copied it (at ASYNCLISTADDR) and before
 *   the controller ran it; the sectors read and written must be the ones the copy named;
 * - ehci-data-stage-at-monitor: a READ(10)'s data qTD into heap slice 17 and a WRITE(10)'s
 *   data qTD reading the code canary (the guest reads the sector back: no canary in it);
 * - ehci-cbw-length-over-buffers: a READ(10) of 8 sectors given one 512-byte qTD at a page's
 *   end (its unused page pointers at heap slice 16, guard bytes before it), and a READ(10) of
 *   1 MiB + 512 bytes (more than the stick's bounce) in 20 KiB qTDs on one page: refused, the CSW
 *   says Failed, and the suite wants the refusal in the monitor's log. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tva.h"
#include "usb_hc.h"

#define STICK_PLAIN "TVEHCIPLAIN0" /* _attack_evidence.py, EHCI_STICK_PLAIN */
enum { POOL = 8, SLOT = 512, SLOTS = POOL * (4096 / SLOT), MAXQ = 8 };
enum { PID_OUT = 0, PID_IN = 1, PID_SETUP = 2 };

struct qspec {
    int pid;
    uint32_t len;
    uint64_t buf;  /* its first byte; pages 1-4 are `more` (0: the same page again) */
    uint64_t more; /* where the unused page pointers point */
    int toggle;    /* -1: the endpoint's running toggle (bulk) */
};

static struct pcidev hc;
static struct ehci e;
static struct dpage pool[POOL], ctl, io, data; /* schedules; control data; CBW and CSW; bulk data */
static int used;
static int toggle[16][2];
static uint8_t ep_in, ep_out;
static uint32_t mps_in = 512, mps_out = 512, cbw_tag = 0x54560000, blocks;
static const char *failed; /* what went wrong in a transfer the attack needed */

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

static void put_le32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint32_t qtd_token(volatile uint32_t *t) { return t[2]; }

/* One transfer on a fresh slot: head QH, the QH of `ep` (device 0, high speed, toggle from the
 * qTDs) and n qTDs; ASYNCLISTADDR (where the monitor imports the schedule), `between`, Run with
 * the async schedule; USBSTS reads (the monitor's syncs) until no qTD is active or one halted,
 * 3 s at most (a loaded host runs frames late); then the async schedule off. tok[i]: the
 * qTDs' tokens as the guest reads them. -1: no slot left. */
static int xfer(int ep, uint32_t mps, const struct qspec *q, int n, void (*between)(void), uint32_t *tok)
{
    if (used >= SLOTS || n > MAXQ)
        return -1;
    struct dpage *pg = &pool[used / (4096 / SLOT)];
    uint32_t off = (uint32_t)(used++ % (4096 / SLOT)) * SLOT;
    uint32_t *w = (uint32_t *)(pg->v + off);
    uint32_t const head = (uint32_t)pg->p + off, qh = head + 64, qtd0 = head + 128;
    memset(w, 0, SLOT);
    w[0] = qh | 2;
    w[1] = 1u << 15; /* H: head of the reclamation list */
    w[4] = w[5] = 1;
    w[6] = EHCI_HALTED;
    uint32_t *h = w + 16;
    h[0] = head | 2;
    h[1] = (mps << 16) | (1u << 14) | (2u << 12) | ((uint32_t)ep << 8); /* DTC, high speed, address 0 */
    h[2] = 1u << 30;
    h[4] = qtd0;
    h[5] = 1;
    for (int i = 0; i < n; i++) {
        uint32_t *t = w + 32 + i * 8;
        int tg = q[i].toggle;
        if (tg < 0) {
            int *run = &toggle[ep][q[i].pid == PID_IN];
            tg = *run;
            uint32_t packets = q[i].len ? (q[i].len + mps - 1) / mps : 1;
            *run ^= (int)(packets & 1);
        }
        t[0] = i + 1 < n ? qtd0 + (uint32_t)(i + 1) * 32 : 1;
        t[1] = 1;
        t[3] = (uint32_t)q[i].buf;
        for (int b = 1; b < 5; b++)
            t[3 + b] = (uint32_t)(q[i].more ? q[i].more : q[i].buf & ~0xfffull);
        barrier();
        t[2] = ((uint32_t)tg << 31) | (q[i].len << 16) | (3u << 10) | ((uint32_t)q[i].pid << 8) | EHCI_ACTIVE;
    }
    barrier();
    e.op[6] = head;
    barrier();
    if (between)
        between();
    e.op[0] = 1 | (1u << 5);
    barrier();
    for (int i = 0; i < 3000; i++) {
        (void)ehci_status(&e);
        int busy = 0, halted = 0;
        for (int k = 0; k < n; k++) {
            uint32_t t = qtd_token((volatile uint32_t *)(w + 32 + k * 8));
            busy |= (t & EHCI_ACTIVE) != 0;
            halted |= (t & EHCI_HALTED) != 0;
        }
        if (!busy || halted)
            break;
        sleep_ms(1);
    }
    (void)ehci_status(&e);
    for (int k = 0; k < n; k++)
        tok[k] = qtd_token((volatile uint32_t *)(w + 32 + k * 8));
    e.op[0] = 1; /* the async schedule off, the controller running */
    for (int i = 0; i < 200 && (ehci_status(&e) & (1u << 15)); i++)
        sleep_ms(1);
    return 0;
}

static int done_ok(uint32_t t) { return !(t & (EHCI_ACTIVE | EHCI_HALTED)); }

/* A control transfer on endpoint 0: the bytes its data stage moved, or -1. */
static int control(uint8_t rt, uint8_t req, uint16_t value, uint16_t index, uint16_t len)
{
    uint8_t *s = ctl.v;
    s[0] = rt, s[1] = req, s[2] = (uint8_t)value, s[3] = (uint8_t)(value >> 8);
    s[4] = (uint8_t)index, s[5] = (uint8_t)(index >> 8), s[6] = (uint8_t)len, s[7] = (uint8_t)(len >> 8);
    memset(ctl.v + 512, 0, 1024);
    int in = rt & 0x80, n = 0;
    struct qspec q[3];
    q[n++] = (struct qspec){PID_SETUP, 8, ctl.p, 0, 0};
    if (len)
        q[n++] = (struct qspec){in ? PID_IN : PID_OUT, len, ctl.p + 512, 0, 1};
    q[n++] = (struct qspec){in && len ? PID_OUT : PID_IN, 0, ctl.p + 2048, 0, 1};
    uint32_t tok[3];
    if (xfer(0, 64, q, n, NULL, tok) < 0)
        return -1;
    for (int i = 0; i < n; i++)
        if (!done_ok(tok[i]))
            return -1;
    return len ? (int)(len - ((tok[1] >> 16) & 0x7fff)) : 0;
}

/* The device, configuration and serial descriptors (each by its length first, as the monitor
 * bounces a data stage of exactly wLength), SET_CONFIGURATION 1. */
static const char *enumerate(void)
{
    uint8_t *d = ctl.v + 512;
    if (control(0x80, 6, 0x0100, 0, 18) != 18 || d[1] != 1)
        return "GET_DESCRIPTOR(device)";
    uint8_t serial = d[16];
    if (control(0x80, 6, 0x0200, 0, 9) != 9)
        return "GET_DESCRIPTOR(configuration, 9)";
    uint16_t total = (uint16_t)(d[2] | d[3] << 8);
    if (total < 9 || total > 512 || control(0x80, 6, 0x0200, 0, total) != total)
        return "GET_DESCRIPTOR(configuration)";
    ep_in = ep_out = 0;
    for (uint32_t o = 0; o + 2 <= total && d[o] >= 2; o += d[o])
        if (d[o + 1] == 5 && (d[o + 3] & 3) == 2) { /* a bulk endpoint */
            uint32_t mps = (uint32_t)(d[o + 4] | (d[o + 5] & 7) << 8);
            if (d[o + 2] & 0x80)
                ep_in = d[o + 2] & 0xf, mps_in = mps;
            else
                ep_out = d[o + 2] & 0xf, mps_out = mps;
        }
    if (!ep_in || !ep_out)
        return "no bulk endpoints in the configuration";
    if (serial) {
        if (control(0x80, 6, (uint16_t)(0x0300 | serial), 0x0409, 2) != 2 || d[0] < 2)
            return "GET_DESCRIPTOR(serial, 2)";
        uint8_t len = d[0];
        if (control(0x80, 6, (uint16_t)(0x0300 | serial), 0x0409, len) != len)
            return "GET_DESCRIPTOR(serial)";
    }
    if (control(0x00, 9, 1, 0, 0) != 0)
        return "SET_CONFIGURATION";
    memset(toggle, 0, sizeof toggle);
    return NULL;
}

/* One SCSI command through Bulk-Only: the CBW (`between` runs once the monitor has imported
 * it), the data stage's qTDs as given (may be none), the CSW. The CSW's status, -1 when a
 * stage did not complete (failed says which), -2 when the 13 bytes are not a CSW. */
static int scsi(const uint8_t *cdb, int cdb_len, int in, uint32_t len, const struct qspec *dq, int nd,
                void (*between)(void))
{
    uint8_t *c = io.v;
    uint32_t tok[MAXQ];
    memset(c, 0, 128);
    put_le32(c, 0x43425355);
    put_le32(c + 4, ++cbw_tag);
    put_le32(c + 8, len);
    c[12] = in ? 0x80 : 0;
    c[14] = (uint8_t)cdb_len;
    memcpy(c + 15, cdb, (size_t)cdb_len);
    struct qspec q = {PID_OUT, 31, io.p, 0, -1};
    if (xfer(ep_out, mps_out, &q, 1, between, tok) < 0 || !done_ok(tok[0]))
        return failed = "the CBW", -1;
    for (int at = 0; at < nd; at += MAXQ) { /* a long data stage: MAXQ qTDs per transfer */
        int k = nd - at < MAXQ ? nd - at : MAXQ;
        if (xfer(in ? ep_in : ep_out, in ? mps_in : mps_out, dq + at, k, NULL, tok) < 0)
            return failed = "no schedule slot left", -1;
        for (int i = 0; i < k; i++)
            if (!done_ok(tok[i]))
                return failed = "the data stage", -1;
    }
    q = (struct qspec){PID_IN, 13, io.p + 64, 0, -1};
    if (xfer(ep_in, mps_in, &q, 1, NULL, tok) < 0 || !done_ok(tok[0]))
        return failed = "the CSW", -1;
    uint32_t sig;
    memcpy(&sig, io.v + 64, 4);
    return sig == 0x53425355 ? io.v[64 + 12] : -2;
}

/* READ(10) or WRITE(10) of `n` sectors (at most 8) at lba through `page`. */
static int rw(int write, uint32_t lba, uint32_t n, struct dpage *page)
{
    uint8_t cdb[10] = {write ? 0x2a : 0x28};
    put_be32(cdb + 2, lba);
    cdb[8] = (uint8_t)n;
    struct qspec d = {write ? PID_OUT : PID_IN, n * 512, page->p, 0, -1};
    return scsi(cdb, 10, !write, n * 512, &d, 1, NULL);
}

static void fill(uint8_t *p, uint32_t lba, uint32_t n, char tag)
{
    for (uint32_t s = 0; s < n; s++)
        for (uint32_t o = 0; o < 512; o += 32)
        {
            char line[64];
            snprintf(line, sizeof line, "%s %6u %c %09x", STICK_PLAIN, lba + s, tag, o); /* 31 bytes and a NUL */
            memcpy(p + s * 512 + o, line, 32);
        }
}

static int holds(const uint8_t *p, uint32_t lba, uint32_t n, char tag)
{
    static uint8_t want[4096];
    fill(want, lba, n, tag);
    return !memcmp(p, want, n * 512);
}

/* A reset of the controller (the monitor forgets every device and shadow) and of the stick's
 * port (QEMU's stick drops a half-done command), the enumeration and READ CAPACITY (the monitor
 * attaches the volume there; REQUEST SENSE once for a unit attention). NULL or what failed. */
static const char *stick_fresh(void)
{
    if (e.op)
        ehci_stop(&e);
    if (ehci_take(&e, e.cap) < 0)
        return "no device on any port after the reset";
    used = 0;
    const char *why = enumerate();
    if (why)
        return why;
    for (int tries = 0; tries < 3; tries++) {
        uint8_t cdb[10] = {0x25};
        struct qspec d = {PID_IN, 8, data.p, 0, -1};
        int st = scsi(cdb, 10, 1, 8, &d, 1, NULL);
        if (st == 0) {
            blocks = (uint32_t)(data.v[0] << 24 | data.v[1] << 16 | data.v[2] << 8 | data.v[3]) + 1;
            return blocks >= 4096 ? NULL : "a stick smaller than 2 MiB";
        }
        if (st < 0)
            return failed;
        uint8_t rs[6] = {0x03, 0, 0, 0, 18, 0};
        struct qspec s = {PID_IN, 18, data.p, 0, -1};
        (void)scsi(rs, 6, 1, 18, &s, 1, NULL);
    }
    return "READ CAPACITY(10) kept failing";
}

/* No access of these attacks is one the monitor should answer with a fault (they touch only
 * the controller's registers and guest memory): a signal means the attack itself broke and
 * tested nothing, never that the monitor defended (run_attack's reading of a signal). */
static const char *running;

static void crashed(int sig)
{
    breach(running, "tvattack took signal %d in the attack: it tested nothing", sig);
    _exit(0);
}

static int stick_setup(const char *name)
{
    running = name;
    signal(SIGSEGV, crashed);
    signal(SIGBUS, crashed);
    if (pci_find(0, 0, 0xffffff, 0x0c0320, &hc) < 0 || !hc.bar[0]) {
        skipped(name, "no EHCI controller");
        return 0;
    }
    for (int i = 0; i < POOL; i++)
        if (dma_page(&pool[i])) {
            skipped(name, "no DMA pages");
            return 0;
        }
    if (dma_page(&ctl) || dma_page(&io) || dma_page(&data)) {
        skipped(name, "no DMA pages");
        return 0;
    }
    pci_unbind(&hc);
    pci_cfg_write(&hc, 4, 2, pci_cfg_read(&hc, 4, 2) | 0x6);
    e.cap = devmem_map(hc.bar[0], 0x1000);
    if (!e.cap) {
        skipped(name, "EHCI %s: BAR0 not mappable", hc.bdf);
        return 0;
    }
    const char *why = stick_fresh();
    if (why) { /* the stick must work under the monitor, or the attack proves nothing */
        breach(name, "the enrolled stick does not work under the monitor (%s failed): the attack tested nothing", why);
        return 0;
    }
    note("EHCI %s: the stick on port %d, %u sectors, bulk in %u out %u", hc.bdf, e.port + 1, blocks, ep_in, ep_out);
    return 1;
}

static void ehci_stick_write_plaintext(const char *name)
{
    if (!stick_setup(name))
        return;
    fill(data.v, 64, 8, 'W');
    int st = rw(1, 64, 8, &data);
    if (st) {
        breach(name, "WRITE(10) of 8 sectors failed (CSW %d, %s): the attack tested nothing", st, st < 0 ? failed : "");
        return;
    }
    memset(data.v, 0, 4096);
    st = rw(0, 64, 8, &data);
    if (st || !holds(data.v, 64, 8, 'W'))
        breach(name, "the sectors read back (CSW %d) are not the ones written: the stick's data is not what the guest "
                     "wrote", st);
    else
        defended(name, "8 sectors written and read back intact through the monitor (the suite scans the stick's image "
                       "for their plaintext)");
}

/* ---- the CBW rewritten after the monitor's copy ---- */

static uint32_t moved_lba;

static void move_cbw_lba(void)
{
    put_be32(io.v + 15 + 2, moved_lba); /* the CDB's LBA, in the guest's CBW */
    barrier();
    (void)ehci_status(&e); /* a sync: the monitor must not take the CBW again */
}

static void ehci_cbw_rewritten_after_copy(const char *name)
{
    if (!stick_setup(name))
        return;
    /* A at 128, B at 136, E at 160: the sectors the rewritten CBWs would reach instead. */
    static const struct { uint32_t lba; char tag; } init[] = {{128, 'A'}, {136, 'B'}, {152, 'C'}, {160, 'E'}};
    for (unsigned i = 0; i < 4; i++) {
        fill(data.v, init[i].lba, 1, init[i].tag);
        int st = rw(1, init[i].lba, 1, &data);
        if (st) {
            breach(name, "writing LBA %u failed (CSW %d): the attack tested nothing", init[i].lba, st);
            return;
        }
    }
    /* READ(10) of 128, moved to 136 once imported. */
    uint8_t cdb[10] = {0x28};
    put_be32(cdb + 2, 128);
    cdb[8] = 1;
    memset(data.v, 0, 4096);
    moved_lba = 136;
    struct qspec d = {PID_IN, 512, data.p, 0, -1};
    int st = scsi(cdb, 10, 1, 512, &d, 1, move_cbw_lba);
    int read_ok = st == 0 && holds(data.v, 128, 1, 'A');
    int read_moved = holds(data.v, 136, 1, 'B');
    /* WRITE(10) of 152 (new contents D), moved to 160 once imported. */
    cdb[0] = 0x2a;
    put_be32(cdb + 2, 152);
    fill(data.v, 152, 1, 'D');
    moved_lba = 160;
    d.pid = PID_OUT;
    int wst = scsi(cdb, 10, 0, 512, &d, 1, move_cbw_lba);
    memset(data.v, 0, 4096);
    int r1 = rw(0, 152, 1, &data), at152 = holds(data.v, 152, 1, 'D');
    memset(data.v, 0, 4096);
    int r2 = rw(0, 160, 1, &data), at160 = holds(data.v, 160, 1, 'E');
    int write_ok = !wst && !r1 && !r2 && at152 && at160;
    if (!read_ok || !write_ok) /* both halves named, so each one's failure shows */
        breach(name, "READ(10) of LBA 128 with its CBW moved to 136 after the copy: %s (CSW %d); WRITE(10) of LBA 152 "
                     "moved to 160: CSW %d, LBA 152 %s, LBA 160 %s (reads %d %d)",
               read_ok ? "LBA 128's sector, right"
               : read_moved ? "LBA 136's sector: the device read the guest's rewritten CBW" : "neither sector", st,
               wst, at152 ? "written" : "NOT WRITTEN", at160 ? "unchanged" : "CHANGED", r1, r2);
    else
        defended(name, "the READ read LBA 128 and the WRITE wrote LBA 152, as the CBWs said when the monitor copied them "
                       "(LBA 160 unchanged)");
}

/* ---- data stages at the monitor ---- */

static void ehci_data_stage_at_monitor(const char *name)
{
    if (!stick_setup(name))
        return;
    fill(data.v, 72, 1, 'M');
    if (rw(1, 72, 1, &data)) {
        breach(name, "writing LBA 72 failed: the attack tested nothing");
        return;
    }
    uint8_t cdb[10] = {0x28};
    put_be32(cdb + 2, 72);
    cdb[8] = 1;
    struct qspec d = {PID_IN, 512, slice(17), 0, -1};
    int rd = scsi(cdb, 10, 1, 512, &d, 1, NULL);
    const char *rd_failed = rd == -1 ? failed : "";
    const char *why = stick_fresh();
    if (why) {
        breach(name, "the stick no longer works after a READ into the monitor (%s)", why);
        return;
    }
    cdb[0] = 0x2a;
    d = (struct qspec){PID_OUT, 512, slice(0), 0, -1}; /* the device would read the code canary */
    int wr = scsi(cdb, 10, 0, 512, &d, 1, NULL);
    const char *wr_failed = wr == -1 ? failed : "";
    why = stick_fresh();
    memset(data.v, 0, 4096);
    int back = why ? -1 : rw(0, 72, 1, &data);
    if (rd == 0)
        breach(name, "a READ(10) whose data qTD points into the monitor's heap completed");
    else if (wr == 0)
        breach(name, "a WRITE(10) whose data qTD points at the monitor's code completed");
    else if (why || back)
        breach(name, "the stick no longer works after the attack (%s, read %d)", why ? why : "", back);
    else if (has_canary_prefix(data.v, 512))
        breach(name, "LBA 72 read back holds the monitor's canary: the monitor's code reached the stick");
    else
        defended(name, "the READ into the heap stopped at %s, the WRITE from the code at %s; LBA 72 holds %s",
                 rd_failed, wr_failed, holds(data.v, 72, 1, 'M') ? "the guest's sector still" : "no canary");
}

/* ---- transfer lengths the qTDs do not hold ---- */

static void ehci_cbw_length_over_buffers(const char *name)
{
    if (!stick_setup(name))
        return;
    /* READ(10) of 8 sectors (4096 bytes), given 512 bytes at the page's end whose unused
     * page pointers name heap slice 16; the page before it is guard bytes. */
    memset(data.v, 0xa5, 4096);
    uint8_t cdb[10] = {0x28};
    put_be32(cdb + 2, 64);
    cdb[8] = 8;
    struct qspec d = {PID_IN, 512, data.p + 3584, slice(16), -1};
    int st1 = scsi(cdb, 10, 1, 4096, &d, 1, NULL);
    const char *f1 = st1 == -1 ? failed : "";
    int guard = 1;
    for (int i = 0; i < 3584; i++)
        guard &= data.v[i] == 0xa5;
    const char *why = stick_fresh();
    if (why) {
        breach(name, "the stick no longer works after a data stage shorter than its CBW (%s)", why);
        return;
    }
    /* READ(10) of 2049 sectors, more than the 1 MiB bounce: its whole data stage in 20 KiB
     * qTDs that all land in one page (a refused command's data stage still goes to the sink
     * before its CSW comes). */
    static struct qspec big[52];
    for (int i = 0; i < 52; i++)
        big[i] = (struct qspec){PID_IN, i < 51 ? 5 * 4096 : 2049 * 512 - 51 * 5 * 4096, data.p, 0, -1};
    put_be32(cdb + 2, 0);
    cdb[7] = 2049 >> 8, cdb[8] = 2049 & 0xff;
    memset(data.v, 0, 4096);
    int st2 = scsi(cdb, 10, 1, 2049 * 512, big, 52, NULL);
    const char *f2 = st2 == -1 ? failed : "";
    if (!guard)
        breach(name, "bytes around the 512-byte qTD of an 8-sector READ changed");
    else if (st1 == 0)
        breach(name, "a READ(10) of 8 sectors given 512 bytes of qTD said Good");
    else if (st2 != 1)
        breach(name, "a READ(10) of 1 MiB + 512 bytes (past the bounce) was not refused: CSW %d %s", st2, f2);
    else
        defended(name, "8 sectors given 512 bytes: stopped at %s, no byte outside the qTD; 1 MiB + 512 bytes: the CSW "
                       "says Failed (the suite wants the refusal in the monitor's log)", st1 == -1 ? f1 : "the CSW");
}

const struct attack ehci_storage_attacks[] = {
    {"ehci-stick-write-plaintext", ehci_stick_write_plaintext},
    {"ehci-cbw-rewritten-after-copy", ehci_cbw_rewritten_after_copy},
    {"ehci-data-stage-at-monitor", ehci_data_stage_at_monitor},
    {"ehci-cbw-length-over-buffers", ehci_cbw_length_over_buffers},
    {NULL, NULL},
};
