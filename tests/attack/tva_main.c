/* tvattack: run the attacks (all, one group, or one by name) against the monitor underneath.
 *
 *   tvattack --targets "region=0x.. size=0x.. code=0x.. ..." [--group G] [--only N1,N2] [--list]
 *
 * Groups, each for a boot of its own: safe (everything the monitor must survive; the default),
 * fatal (the IOMMU attacks, whose boot has an IOMMU and an e1000 no mediator owns, the IDE
 * taskfile race, which needs its two CPUs, then the attacks that stop the machine while the
 * hole they aim at is open) and init (an INIT to
 * the boot CPU, which ends the guest whatever the monitor does). Each attack prints
 * "ATTACK name" and then one verdict line. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tva.h"


static const struct attack *const kSafe[] = {first_attacks, cpu_attacks, pci_attacks, ide_attacks, ahci_attacks,
                                             nic_attacks, xhci_attacks, ehci_attacks, ehci_storage_attacks, misc_attacks,
                                             NULL};
static const struct attack *const kFatal[] = {iommu_attacks, iommu_nic_attacks, ide_race_attacks, xhci_hidden_attacks,
                                              fatal_attacks,
                                              NULL};
static const struct attack *const kInit[] = {init_attacks, iommu_init_attacks, NULL};
static const struct {
    const char *name;
    const struct attack *const *groups;
} kGroups[] = {{"safe", kSafe}, {"fatal", kFatal}, {"init", kInit}};

static void parse_targets(const char *s)
{
    static const struct {
        const char *key;
        uint64_t *field;
    } keys[] = {{"region", &T.region}, {"size", &T.region_size}, {"code", &T.code},
                {"data", &T.data},     {"heap", &T.heap},        {"page", &T.page},
                {"ide_bounce", &T.ide_bounce}, {"ahci_bounce", &T.ahci_bounce},
                {"rx_tails", &T.rx_tails}, {"ide_dev", &T.ide_dev}};
    char *copy = strdup(s), *save = NULL;
    for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            continue;
        *eq = 0;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            if (!strcmp(tok, keys[i].key))
                *keys[i].field = strtoull(eq + 1, NULL, 0);
    }
    free(copy);
}

/* Whether name is one of the comma-separated names in list. */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !strncmp(p, name, n))
            return 1;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

/* Each attack runs in a child: an access the monitor refuses with a fault kills only the child,
 * and that refusal is the attack's verdict. */
void run_attack(const struct attack *a)
{
    printf("ATTACK %s\n", a->name);
    fflush(stdout);
    *tva_verdicts = 0;
    pid_t pid = fork();
    if (pid == 0) {
        a->fn(a->name);
        fflush(stdout);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (*tva_verdicts == 0 && WIFSIGNALED(st))
        defended(a->name, "the guest took signal %d in the attack: the monitor refused the access with a fault",
                 WTERMSIG(st));
    else if (*tva_verdicts != 1)
        printf("BREACH %s: the attack printed %d verdicts (a bug in tvattack)\n", a->name, *tva_verdicts);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    const char *only = NULL, *group = "safe";
    int list = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--targets") && i + 1 < argc)
            parse_targets(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--group") && i + 1 < argc)
            group = argv[++i];
        else if (!strcmp(argv[i], "--list"))
            list = 1;
        else {
            fprintf(stderr, "usage: tvattack --targets SPEC [--group safe|fatal|init] [--only N1,N2] [--list]\n");
            return 64;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    tva_shared_init();
    if (list) {
        for (size_t g = 0; g < sizeof kGroups / sizeof kGroups[0]; g++)
            for (const struct attack *const *grp = kGroups[g].groups; *grp; grp++)
                for (const struct attack *a = *grp; a->name; a++)
                    printf("%s %s\n", kGroups[g].name, a->name);
        return 0;
    }
    if (!T.region || !T.code || !T.page) {
        fprintf(stderr, "tvattack: --targets must name at least region, code and page\n");
        return 64;
    }
    if (iopl(3) < 0)
        perror("tvattack: iopl");
    for (size_t g = 0; g < sizeof kGroups / sizeof kGroups[0]; g++) {
        if (strcmp(kGroups[g].name, group))
            continue;
        for (const struct attack *const *grp = kGroups[g].groups; *grp; grp++)
            for (const struct attack *a = *grp; a->name; a++)
                if (!only || listed(only, a->name))
                    run_attack(a);
    }
    printf("tvattack: done\n");
    return 0;
}
