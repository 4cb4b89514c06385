/* thinvisor-ctl: talk to the thinvisor monitor from inside the guest.
 *
 * Uses the register-only hypercall ABI of include/thinvisor/hypercall.h: VMMCALL on AMD
 * (and Hygon) CPUs, VMCALL elsewhere, chosen from the CPUID vendor string. Without a
 * hypervisor both instructions raise #UD, which Linux delivers as SIGILL: that is how
 * "not present" is detected.
 *
 * From user mode the instruction reaches only the functions the monitor gives every process
 * (presence, counters). The log and the monitor's range need the hypercall port, which the
 * guest kernel hands out: as root this program asks for it with ioperm(2) and then makes
 * every call through it. --user drops to uid/gid 65534 first, as any unprivileged process.
 *
 * Built as a static binary for the guest initramfs:  gcc -static -O2 -Iinclude ...
 */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "thinvisor/hypercall.h"
#include "thinvisor/vpn_codes.h"

enum { EXIT_OK = 0, EXIT_ERR = 1, EXIT_ABSENT = 2, EXIT_USAGE = 64 };

struct regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi;
};

static int use_vmmcall;
static int use_port; /* the guest kernel gave this process the hypercall port */
static sigjmp_buf sigill_jmp;
static volatile sig_atomic_t sigill_armed;

static void on_sigill(int sig)
{
    (void)sig;
    if (sigill_armed)
        siglongjmp(sigill_jmp, 1);
    signal(SIGILL, SIG_DFL);
    raise(SIGILL);
}

static void pick_instruction(void)
{
    unsigned int eax, ebx, ecx, edx;
    char vendor[13];

    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
        use_vmmcall = 0;
        return;
    }
    memcpy(vendor + 0, &ebx, 4);
    memcpy(vendor + 4, &edx, 4);
    memcpy(vendor + 8, &ecx, 4);
    vendor[12] = '\0';
    use_vmmcall = strcmp(vendor, "AuthenticAMD") == 0 || strcmp(vendor, "HygonGenuine") == 0;
}

/* Issue one hypercall. All six registers are in/out: the ABI returns data in RBX, RCX, RDX,
 * RSI and (for TV_HC_LOG_READ) RDI. port: through TV_HC_PORT (RDX then holds the port). */
static void raw_hypercall(struct regs *r, int port)
{
    if (port) {
        r->rdx = TV_HC_PORT;
        __asm__ volatile("outb %%al, %%dx"
                         : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx),
                           "+S"(r->rsi), "+D"(r->rdi)
                         :
                         : "memory", "cc");
    } else if (use_vmmcall) {
        __asm__ volatile(".byte 0x0f, 0x01, 0xd9" /* vmmcall */
                         : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx),
                           "+S"(r->rsi), "+D"(r->rdi)
                         :
                         : "memory", "cc");
    } else {
        __asm__ volatile(".byte 0x0f, 0x01, 0xc1" /* vmcall */
                         : "+a"(r->rax), "+b"(r->rbx), "+c"(r->rcx), "+d"(r->rdx),
                           "+S"(r->rsi), "+D"(r->rdi)
                         :
                         : "memory", "cc");
    }
}

/* Returns 0 and fills *r on success; -1 if the instruction faulted (no hypervisor). The
 * presence check always uses the instruction: a port nobody claims answers nothing. */
static int hypercall_by(int port, uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, struct regs *r);

static int hypercall(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, struct regs *r)
{
    return hypercall_by(fn != TV_HC_INFO && use_port, fn, a1, a2, a3, r);
}

static int hypercall_by(int port, uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3, struct regs *r)
{
    /* static: locals modified between sigsetjmp and siglongjmp would be indeterminate. */
    static struct regs tmp;

    tmp = (struct regs){TV_HC_MAGIC | fn, a1, a2, a3, 0, 0};
    if (sigsetjmp(sigill_jmp, 1)) {
        sigill_armed = 0;
        return -1;
    }
    sigill_armed = 1;
    raw_hypercall(&tmp, port);
    sigill_armed = 0;
    *r = tmp;
    return 0;
}

/* Whether the hypercall port is served: TV_HC_INFO through it comes back with the signature.
 * An unclaimed port reaches no device and leaves RAX as it was sent. */
static int port_answers(void)
{
    struct regs r;
    return hypercall_by(1, TV_HC_INFO, 0, 0, 0, &r) == 0 && r.rax == TV_HC_OK && memcmp(&r.rcx, "thinviso", 8) == 0;
}

static const char *status_name(uint64_t st)
{
    switch (st) {
    case TV_HC_OK: return "ok";
    case TV_HC_ERR_UNKNOWN: return "unknown function";
    case TV_HC_ERR_RANGE: return "out of range";
    case TV_HC_ERR_DENIED: return "refused to user mode: needs the hypercall port (root)";
    default: return "unexpected status";
    }
}

static int not_present(void)
{
    printf("thinvisor: not present\n");
    return EXIT_ABSENT;
}

/* Checks the monitor is there and answers with the thinvisor signature. */
static int probe(struct regs *info, int quiet)
{
    if (hypercall(TV_HC_INFO, 0, 0, 0, info) < 0) {
        if (!quiet)
            not_present();
        return -1;
    }
    if (info->rax != TV_HC_OK || memcmp(&info->rcx, "thinviso", 8) != 0) {
        if (!quiet)
            printf("thinvisor: not present (%s answered by something else: rax=0x%" PRIx64
                   " rcx=0x%" PRIx64 ")\n",
                   use_vmmcall ? "vmmcall" : "vmcall", info->rax, info->rcx);
        return -1;
    }
    return 0;
}

static int fail_status(const char *what, uint64_t st)
{
    fprintf(stderr, "thinvisor-ctl: %s failed: status %" PRIu64 " (%s)\n", what, st,
            status_name(st));
    return EXIT_ERR;
}

static int cmd_info(void)
{
    struct regs r;

    if (probe(&r, 0) < 0)
        return EXIT_ABSENT;
    printf("thinvisor: present\n");
    printf("abi: %" PRIu64 "\n", r.rbx);
    printf("counters: %" PRIu64 "\n", r.rdx);
    printf("instruction: %s\n", use_vmmcall ? "vmmcall" : "vmcall");
    printf("route: %s\n", use_port ? "hypercall port" : "instruction (user mode: info and counters only)");
    return EXIT_OK;
}

static void print_name(uint64_t lo, uint64_t hi)
{
    unsigned char b[17];
    memcpy(b, &lo, 8);
    memcpy(b + 8, &hi, 8);
    b[16] = 0;
    for (int i = 0; i < 16 && b[i]; i++)
        putchar(b[i] > 0x20 && b[i] < 0x7f ? b[i] : '_');
}

/* devices: 0 for the exit counters (indexes below INFO's count), 1 for the device counters
 * that follow them (a mediator's own counts, up to the first out-of-range index). */
static int cmd_counters(int devices)
{
    struct regs info, r;
    uint64_t n, i, first;

    if (probe(&info, 0) < 0)
        return EXIT_ABSENT;
    first = devices ? info.rdx : 0;
    n = devices ? info.rdx + 4096 : info.rdx;
    /* Also stop at the first out-of-range index, whatever INFO said. */
    for (i = first; i < n && i < first + 4096; i++) {
        if (hypercall(TV_HC_COUNTER, i, 0, 0, &r) < 0)
            return not_present();
        if (r.rax == TV_HC_ERR_RANGE)
            break;
        if (r.rax != TV_HC_OK)
            return fail_status("counter", r.rax);
        if (r.rcx == 0 && r.rdx == 0)
            printf("counter%" PRIu64, i);
        else
            print_name(r.rcx, r.rdx);
        printf(" %" PRIu64 "\n", r.rbx);
    }
    if (i == first && !devices) {
        fprintf(stderr, "thinvisor-ctl: the monitor reports no counters\n");
        return EXIT_ERR;
    }
    return EXIT_OK;
}

/* The VPN tunnel's counters (the device counters named vpn-*), as 'key value' lines: the state,
 * the gateway, the SPIs, packets and bytes each way, drops by reason, rekeys, the last error.
 * The monitor exports no key material, so none can be printed. */
#define TV_NAME(id, ctl_name) ctl_name,
static const char *const vpn_states[] = {TV_VPN_STATES(TV_NAME)};
static const char *const vpn_errors[] = {TV_VPN_ERRORS(TV_NAME)};
#undef TV_NAME

/* failover::Liveness + 1 (0: no such gateway) */
static const char *const vpn_liveness[] = {"none", "no-sa", "probing", "alive", "dead"};

static void vpn_line(const char *name, uint64_t v)
{
    const char *k = name + 4; /* after "vpn-" */
    if (!strcmp(k, "state") || !strcmp(k, "standby-st"))
        printf("%s %s\n", !strcmp(k, "state") ? "state" : "standby-state",
               v < sizeof vpn_states / sizeof *vpn_states ? vpn_states[v] : "unknown");
    else if (!strcmp(k, "active-live") || !strcmp(k, "standby-live"))
        printf("%s %s\n", k, v < sizeof vpn_liveness / sizeof *vpn_liveness ? vpn_liveness[v] : "unknown");
    else if (!strcmp(k, "last-error"))
        printf("last-error %s\n", v < sizeof vpn_errors / sizeof *vpn_errors ? vpn_errors[v] : "unknown");
    else if (!strcmp(k, "gateway") || !strcmp(k, "standby"))
        printf("%s %u.%u.%u.%u\n", k, (unsigned)(v >> 24) & 255, (unsigned)(v >> 16) & 255,
               (unsigned)(v >> 8) & 255, (unsigned)v & 255);
    else if (!strncmp(k, "ike-spi", 7))
        printf("%s %016" PRIx64 "\n", k, v);
    else if (!strncmp(k, "spi-", 4))
        printf("%s %08" PRIx64 "\n", k, v);
    else
        printf("%s %" PRIu64 "\n", k, v);
}

static int cmd_vpn(void)
{
    struct regs info, r;
    uint64_t i;
    int seen = 0;

    if (probe(&info, 0) < 0)
        return EXIT_ABSENT;
    for (i = info.rdx; i < info.rdx + 4096; i++) {
        char name[17];
        if (hypercall(TV_HC_COUNTER, i, 0, 0, &r) < 0)
            return not_present();
        if (r.rax != TV_HC_OK)
            break;
        memcpy(name, &r.rcx, 8);
        memcpy(name + 8, &r.rdx, 8);
        name[16] = 0;
        if (strncmp(name, "vpn-", 4))
            continue;
        vpn_line(name, r.rbx);
        seen++;
    }
    if (!seen) {
        fprintf(stderr, "thinvisor-ctl: the monitor runs no VPN\n");
        return EXIT_ERR;
    }
    return EXIT_OK;
}

/* Test guests only: TCP segmentation offload off on IFACE (what `ethtool -K IFACE tso off`
 * does; busybox has no ethtool). The VPN's copy-out path takes only whole frames. */
static int cmd_tso_off(const char *ifname)
{
    struct ethtool_value ev = {ETHTOOL_STSO, 0};
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
    ifr.ifr_data = (char *)&ev;
    if (fd < 0 || ioctl(fd, SIOCETHTOOL, &ifr) != 0) {
        perror("thinvisor-ctl: tso-off");
        return EXIT_ERR;
    }
    close(fd);
    return EXIT_OK;
}

/* The monitor's log ring, oldest byte first, each byte handed to put. */
static int log_read(void (*put)(int c))
{
    struct regs info, r;
    uint64_t total, cap, off;
    unsigned char buf[32];

    if (probe(&info, 0) < 0)
        return EXIT_ABSENT;
    if (hypercall(TV_HC_LOG_STATE, 0, 0, 0, &r) < 0)
        return not_present();
    if (r.rax != TV_HC_OK)
        return fail_status("log state", r.rax);
    total = r.rbx;
    cap = r.rcx;
    off = total > cap ? total - cap : 0;
    while (off < total) {
        if (hypercall(TV_HC_LOG_READ, off, 0, 0, &r) < 0)
            return not_present();
        if (r.rax == TV_HC_ERR_RANGE) {
            if (r.rbx <= off) /* must move forward, or the monitor is confused */
                return fail_status("log read", r.rax);
            off = r.rbx; /* overwritten meanwhile: skip to the oldest byte still there */
            continue;
        }
        if (r.rax != TV_HC_OK)
            return fail_status("log read", r.rax);
        if (r.rbx == 0 || r.rbx > 32)
            break;
        memcpy(buf + 0, &r.rcx, 8);
        memcpy(buf + 8, &r.rdx, 8);
        memcpy(buf + 16, &r.rsi, 8);
        memcpy(buf + 24, &r.rdi, 8);
        if (r.rbx > total - off)
            r.rbx = total - off;
        for (uint64_t i = 0; i < r.rbx; i++)
            if (buf[i])
                put(buf[i]);
        off += r.rbx;
    }
    fflush(stdout);
    return EXIT_OK;
}

static void put_stdout(int c)
{
    putchar(c);
}

static int cmd_log(void)
{
    return log_read(put_stdout);
}

/* `policy`: the file-protection policy in force and what it refused (storage/policy_stats.hpp
 * names the device counters), then its last audit lines from the log ring. */
#define POLICY_RECENT 10
static char policy_line[256], policy_recent[POLICY_RECENT][256];
static unsigned policy_len, policy_seen;

static void policy_put(int c)
{
    if (c != '\n') {
        if (policy_len < sizeof policy_line - 1)
            policy_line[policy_len++] = (char)c;
        return;
    }
    policy_line[policy_len] = 0;
    if (strstr(policy_line, "policy: disk "))
        snprintf(policy_recent[policy_seen++ % POLICY_RECENT], sizeof policy_recent[0], "%s", policy_line);
    policy_len = 0;
}

static int cmd_policy(void)
{
    static const char *const sources[] = {"boot-module", "https"};
    struct regs info, r;
    uint64_t i, serial[3] = {0, 0, 0}, url[8] = {0}, paths = 0, bus = 0, source = 0;
    int seen = 0;

    if (probe(&info, 0) < 0)
        return EXIT_ABSENT;
    for (i = info.rdx; i < info.rdx + 4096; i++) {
        char name[17];
        if (hypercall(TV_HC_COUNTER, i, 0, 0, &r) < 0)
            return not_present();
        if (r.rax != TV_HC_OK)
            break;
        memcpy(name, &r.rcx, 8);
        memcpy(name + 8, &r.rdx, 8);
        name[16] = 0;
        if (paths) { /* the path slots follow policy-paths */
            if (name[0])
                printf("path %s hits %" PRIu64 "\n", name, r.rbx);
            paths--;
            continue;
        }
        if (strncmp(name, "policy-", 7))
            continue;
        seen = 1;
        const char *k = name + 7;
        if (!strncmp(k, "serial", 6) && k[6] >= '0' && k[6] <= '2')
            serial[k[6] - '0'] = r.rbx;
        else if (!strcmp(k, "bus"))
            bus = r.rbx;
        else if (!strcmp(k, "paths"))
            paths = r.rbx;
        else if (!strcmp(k, "source"))
            source = r.rbx; /* printed after the URL's words */
        else if (!strncmp(k, "url", 3) && k[3] >= '0' && k[3] <= '7' && !k[4])
            url[k[3] - '0'] = r.rbx;
        else
            printf("%s %" PRIu64 "\n", k, r.rbx);
        if (!strcmp(k, "serial2")) {
            char text[25] = {0};
            memcpy(text, serial, 24);
            printf("disk %s:%s\n", bus == 1 ? "aoe" : bus == 2 ? "usb" : "ata", text);
        }
    }
    if (!seen) {
        fprintf(stderr, "thinvisor-ctl: no file-protection policy is in force\n");
        return EXIT_ERR;
    }
    if (source == 1 && url[0]) { /* fetched: the URL it came from (its first 64 characters) */
        char text[65] = {0};
        memcpy(text, url, 64);
        printf("source %s\n", text);
    } else {
        printf("source %s\n", source < 2 ? sources[source] : "unknown");
    }
    if (log_read(policy_put) != EXIT_OK)
        return EXIT_ERR;
    for (unsigned n = policy_seen > POLICY_RECENT ? policy_seen - POLICY_RECENT : 0; n < policy_seen; n++)
        printf("recent %s\n", policy_recent[n % POLICY_RECENT]);
    return EXIT_OK;
}

static int cmd_range(void)
{
    struct regs info, r;

    if (probe(&info, 0) < 0)
        return EXIT_ABSENT;
    if (hypercall(TV_HC_MONITOR_RANGE, 0, 0, 0, &r) < 0)
        return not_present();
    if (r.rax != TV_HC_OK)
        return fail_status("range", r.rax);
    printf("0x%" PRIx64 " 0x%" PRIx64 "\n", r.rbx, r.rcx);
    return EXIT_OK;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return -1;
    *out = v;
    return 0;
}

/* Debugging aid: issue any function and dump the registers. */
static int cmd_call(int argc, char **argv)
{
    uint64_t a[4] = {0, 0, 0, 0};
    struct regs r;

    if (argc < 1 || argc > 4)
        return -1;
    for (int i = 0; i < argc; i++)
        if (parse_u64(argv[i], &a[i]) < 0) {
            fprintf(stderr, "thinvisor-ctl: bad number '%s'\n", argv[i]);
            return EXIT_USAGE;
        }
    if (hypercall(a[0], a[1], a[2], a[3], &r) < 0)
        return not_present();
    printf("rax 0x%016" PRIx64 " (%s)\nrbx 0x%016" PRIx64 "\nrcx 0x%016" PRIx64
           "\nrdx 0x%016" PRIx64 "\nrsi 0x%016" PRIx64 "\nrdi 0x%016" PRIx64 "\n",
           r.rax, status_name(r.rax), r.rbx, r.rcx, r.rdx, r.rsi, r.rdi);
    return r.rax == TV_HC_OK ? EXIT_OK : EXIT_ERR;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: thinvisor-ctl [--user] [--port] COMMAND\n"
            "\n"
            "Commands (talk to the thinvisor monitor through hypercalls):\n"
            "  info       say whether thinvisor is present, its ABI version and counter count\n"
            "  counters   print each exit counter as 'name value'\n"
            "  device-counters   print the mediators' own counters (not exits), 'name value'\n"
            "  vpn        print the VPN tunnel's state and counters, 'key value' (never keys):\n"
            "             the active gateway and the standby, their liveness, failovers\n"
            "  tso-off IFACE   turn TCP segmentation offload off on IFACE (test guests)\n"
            "  log        print the monitor's log ring\n"
            "  policy     print the file-protection policy in force (version, disk, source),\n"
            "             its refusals in total and by path, and its recent audit lines\n"
            "  range      print the physical range the monitor reserved: '0xBASE 0xSIZE'\n"
            "  call FN [RBX [RCX [RDX]]]   issue a raw hypercall and dump the registers\n"
            "  help       show this text\n"
            "\n"
            "\n"
            "As root the calls go through the hypercall port (ioperm); otherwise, or with\n"
            "--user (drop to uid 65534 first), by the instruction in user mode, which the\n"
            "monitor answers only for info, counters and device-counters. --port uses the\n"
            "port even without the permission (the CPU then refuses it: SIGSEGV).\n"
            "Exit status: 0 ok, 1 error, 2 thinvisor not present, 64 usage error.\n");
}

int main(int argc, char **argv)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigill;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);
    pick_instruction();
    int force_port = 0;
    for (; argc >= 2 && (!strcmp(argv[1], "--user") || !strcmp(argv[1], "--port")); argc--, argv++) {
        if (!strcmp(argv[1], "--port")) {
            force_port = 1;
        } else if (setgid(65534) != 0 || setuid(65534) != 0) {
            perror("thinvisor-ctl: --user");
            return EXIT_ERR;
        }
    }
    /* --port without the permission: the CPU, not the monitor, must stop the access (#GP,
     * SIGSEGV here); a test of that claim. */
    use_port = ioperm(TV_HC_PORT, 1, 1) == 0 || force_port;
    if (use_port && !force_port && !port_answers())
        use_port = 0; /* a monitor older than the port (make bench's before run): the instruction */

    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    int rc = -1;
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "call"))
        rc = cmd_call(argc - 2, argv + 2);
    else if (!strcmp(cmd, "tso-off") && argc == 3)
        rc = cmd_tso_off(argv[2]);
    else if (argc != 2)
        rc = -1;
    else if (!strcmp(cmd, "info"))
        rc = cmd_info();
    else if (!strcmp(cmd, "counters"))
        rc = cmd_counters(0);
    else if (!strcmp(cmd, "device-counters"))
        rc = cmd_counters(1);
    else if (!strcmp(cmd, "log"))
        rc = cmd_log();
    else if (!strcmp(cmd, "policy"))
        rc = cmd_policy();
    else if (!strcmp(cmd, "vpn"))
        rc = cmd_vpn();
    else if (!strcmp(cmd, "range"))
        rc = cmd_range();
    else
        fprintf(stderr, "thinvisor-ctl: unknown command '%s'\n", cmd);
    if (rc < 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return rc;
}
