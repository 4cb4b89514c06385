// SPDX-License-Identifier: GPL-2.0
/* tvlpa: the attack suite's large-page alias attack (cpu-largepage-alias, issue 12), as a guest
 * kernel module: tvattack loads it with the monitor's addresses, it maps the region through a
 * 1 GiB page and 2 MiB pages of its own (a free top-level slot of the running page tables),
 * reads the code canary, writes heap canary slices, executes at the end of a 2 MiB page, takes
 * the mappings down and fails the load (nothing stays). Each result is one "tvlpa:" line in
 * the kernel log, which tvattack judges; the monitor's power-off check judges the writes.
 * Built against the guest kernel's own Debian headers (build.sh), never committed built. */
#include <linux/gfp.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <asm/pgtable.h>
#include <asm/special_insns.h>

static unsigned long code, w2m, w1g;
module_param(code, ulong, 0);  /* the code canary page */
module_param(w2m, ulong, 0);   /* a 512-byte slice written through a 2 MiB page */
module_param(w1g, ulong, 0);   /* a 512-byte slice written through the 1 GiB page */

#define SZ_2M_ (2ul << 20)
#define SZ_1G_ (1ul << 30)
#define LEAF (_PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY)

/* The canary's fixed prefix, held XORed: ram-canary-scan looks for the plain one in guest RAM. */
static const u8 prefix_x[8] = {'T' ^ 0x5a, 'V' ^ 0x5a, 'C' ^ 0x5a, 'A' ^ 0x5a,
			       'N' ^ 0x5a, 'A' ^ 0x5a, 'R' ^ 0x5a, 'Y' ^ 0x5a};

static void show(const char *what, const u8 *p)
{
	bool canary = true;
	int i;

	for (i = 0; i < 8; i++)
		canary &= (p[i] ^ 0x5a) == prefix_x[i];
	bool zero = !memchr_inv(p, 0, 64);

	pr_info("tvlpa: %s %s %16phN%s\n", what, canary ? "CANARY" : zero ? "zeros" : "data", p,
		canary ? " (the monitor's canary)" : "");
}

static int __init tvlpa_init(void)
{
	pgd_t *pgd = __va(read_cr3_pa());
	unsigned long *p4d, *pud, *pmd, *pt, *top;
	bool la57 = native_read_cr4() & X86_CR4_LA57;
	u8 *ret_page, *scratch, buf[64];
	unsigned long base, exec_at;
	int slot = -1, i;

	if (!code || !w2m || !w1g || code >= SZ_1G_ || w1g >= SZ_1G_) {
		pr_info("tvlpa: SETUP needs code, w2m, w1g below 1 GiB\n");
		return -EINVAL;
	}
	/* The hypervisor guard hole (slots 256-271 of the top level, four levels or five):
	 * Linux never maps there, so no later mapping meets a stale entry of ours. */
	for (i = 264; i < 272 && slot < 0; i++)
		if (!pgd_val(pgd[i]))
			slot = i;
	p4d = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	pud = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	pmd = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	pt = (unsigned long *)get_zeroed_page(GFP_KERNEL);
	ret_page = (u8 *)get_zeroed_page(GFP_KERNEL);
	scratch = kzalloc(64, GFP_KERNEL);
	if (slot < 0 || !p4d || !pud || !pmd || !pt || !ret_page || !scratch) {
		pr_info("tvlpa: SETUP no free top-level slot or no memory\n");
		return -ENOMEM;
	}
	/* VA base: the 1 GiB page over physical 0-1 GiB, then the 2 MiB pages: the code canary's
	 * chunk, a 4 KiB table whose first page holds a `ret`, the written slice's chunk. */
	if (la57) { /* five levels: the top slot holds a P4D table, whose first entry is ours */
		base = 0xfe00000000000000ul | ((unsigned long)slot << 48);
		p4d[0] = __pa(pud) | _KERNPG_TABLE;
		top = p4d;
	} else {
		base = 0xffff000000000000ul | ((unsigned long)slot << 39);
		top = pud;
	}
	pud[0] = 0 | LEAF | _PAGE_PSE;
	pud[1] = __pa(pmd) | _KERNPG_TABLE;
	pmd[0] = (code & ~(SZ_2M_ - 1)) | LEAF | _PAGE_PSE;
	pmd[1] = __pa(pt) | _KERNPG_TABLE;
	pmd[2] = (w2m & ~(SZ_2M_ - 1)) | LEAF | _PAGE_PSE;
	pt[0] = __pa(ret_page) | LEAF;
	ret_page[0] = 0xc3;
	set_pgd(&pgd[slot], __pgd(__pa(top) | _KERNPG_TABLE));

	memcpy(buf, (void *)(base + SZ_1G_ + (code & (SZ_2M_ - 1))), 64);
	show("read-2m", buf);
	memcpy(buf, (void *)(base + code), 64);
	show("read-1g", buf);
	memset((void *)(base + SZ_1G_ + 2 * SZ_2M_ + (w2m & (SZ_2M_ - 1))), 0x5a, 512);
	memcpy(buf, (void *)(base + SZ_1G_ + 2 * SZ_2M_ + (w2m & (SZ_2M_ - 1))), 64);
	show("write-2m-readback", buf);
	memset((void *)(base + w1g), 0xa5, 512);
	memcpy(buf, (void *)(base + w1g), 64);
	show("write-1g-readback", buf);
	/* The last 2 bytes of the 2 MiB page over the code canary's chunk, then the `ret` page:
	 * zeros fetched are `add [rax], al`, which adds rax's low byte to scratch[1]; the `ret`s
	 * written there first, had they landed and been fetched, leave scratch alone. */
	exec_at = base + SZ_1G_ + SZ_2M_ - 2;
	*(volatile u16 *)exec_at = 0xc3c3; /* two `ret`s: kept only if writes reach the monitor */
	{
		unsigned long rax = (unsigned long)scratch + 1; /* odd: al is never 0 */

		asm volatile("call *%[t]"
			     : "+a"(rax)
			     : [t] "r"(exec_at)
			     : "memory", "cc", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
	}
	pr_info("tvlpa: exec-2m %s (scratch[1] %#x, rax low byte %#x)\n",
		scratch[1] == (u8)((unsigned long)scratch + 1) ? "zeros" : "OTHER", scratch[1],
		(u8)((unsigned long)scratch + 1));

	set_pgd(&pgd[slot], __pgd(0));
	native_write_cr3(__native_read_cr3()); /* our entries are not global: this CPU forgets them */
	free_page((unsigned long)p4d);
	free_page((unsigned long)pud);
	free_page((unsigned long)pmd);
	free_page((unsigned long)pt);
	free_page((unsigned long)ret_page);
	kfree(scratch);
	pr_info("tvlpa: done (top-level slot %d, %d levels)\n", slot, la57 ? 5 : 4);
	return -EAGAIN; /* never stays loaded */
}

module_init(tvlpa_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("thinvisor attack suite: large-page aliases over the monitor's region");
