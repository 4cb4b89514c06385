/* cpuprobe: what a guest program can learn about virtualization from the CPU.
 * Checks that the CPU the guest sees has no SVM/VMX, that EFER.SVME reads as clear and
 * cannot be set, that VM_CR says SVM is disabled and locked, and that a stray VMMCALL
 * (without thinvisor's magic) raises #UD like on bare hardware, as do VMX instructions, and
 * that the VMX capability MSRs are absent and IA32_FEATURE_CONTROL (if any) says VMX is off,
 * that the SVM instructions raise #UD from user mode as on a CPU without SVM, and that the
 * MSR policy refuses writes the CPU would take (APIC base, MTRR default type, XD_DISABLE).
 * Prints "TV-CHECK ok: NAME" / "TV-CHECK FAIL: NAME ..." lines; exit 1 on any failure.
 * Needs the msr driver (/dev/cpu/0/msr). */
#include <cpuid.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MSR_EFER 0xC0000080u
#define MSR_VM_CR 0xC0010114u
#define MSR_VM_HSAVE_PA 0xC0010117u
#define EFER_SVME (1ull << 12)
#define MSR_FEATURE_CONTROL 0x3Au
#define MSR_VMX_BASIC 0x480u

static int failures;
static sigjmp_buf jump;
static volatile sig_atomic_t got_sigill;

static void check(int okay, const char *name, const char *detail) {
    if (okay) {
        printf("TV-CHECK ok: %s\n", name);
    } else {
        printf("TV-CHECK FAIL: %s: %s\n", name, detail);
        failures++;
    }
}

static int rdmsr(int fd, uint32_t msr, uint64_t *v) { return pread(fd, v, 8, msr) == 8 ? 0 : -1; }
static int wrmsr(int fd, uint32_t msr, uint64_t v) { return pwrite(fd, &v, 8, msr) == 8 ? 0 : -1; }

static void on_sigill(int sig) {
    (void)sig;
    got_sigill = 1;
    siglongjmp(jump, 1);
}

static void check_cpuid(void) {
    unsigned a, b, c, d;
    __cpuid(0x80000001, a, b, c, d);
    check(!(c & (1u << 2)), "cpuid-no-svm", "CPUID 0x80000001 ECX.SVM is set");
    __cpuid(1, a, b, c, d);
    check(!(c & (1u << 5)), "cpuid-no-vmx", "CPUID 1 ECX.VMX is set");
}

static void check_msrs(void) {
    int fd = open("/dev/cpu/0/msr", O_RDWR);
    if (fd < 0) {
        check(0, "msr-device", "cannot open /dev/cpu/0/msr (modprobe msr)");
        return;
    }
    uint64_t efer = 0, vmcr = 0, v = 0;
    check(rdmsr(fd, MSR_EFER, &efer) == 0 && !(efer & EFER_SVME), "efer-svme-hidden", "EFER.SVME reads as set");
    int wrote = wrmsr(fd, MSR_EFER, efer | EFER_SVME);
    rdmsr(fd, MSR_EFER, &v);
    check(wrote != 0 && !(v & EFER_SVME), "efer-svme-locked", "setting EFER.SVME did not fault");
    check(wrmsr(fd, MSR_EFER, efer) == 0, "efer-rewrite", "rewriting EFER with its own value failed");
    int r = rdmsr(fd, MSR_VM_CR, &vmcr);
    check(r != 0 || (vmcr & 0x18) == 0x18, "vm-cr-disabled", "VM_CR does not report SVM disabled and locked");
    check(wrmsr(fd, MSR_VM_CR, 0) != 0, "vm-cr-locked", "writing VM_CR succeeded");
    if (rdmsr(fd, MSR_VM_HSAVE_PA, &v) == 0)
        check(v == 0, "hsave-hidden", "VM_HSAVE_PA reveals the host save area");
    v = 0;  /* #GP, or 0 where an emulator answers every MSR (QEMU TCG) */
    check(rdmsr(fd, MSR_VMX_BASIC, &v) != 0 || v == 0, "vmx-msrs-absent", "IA32_VMX_BASIC reports VMX");
    if (rdmsr(fd, MSR_FEATURE_CONTROL, &v) == 0) {  /* Intel only; locked with VMX off under thinvisor */
        check((v & 5) != 5, "feature-control-vmx-off", "IA32_FEATURE_CONTROL reports VMX enabled and locked");
        if (v & 1) check(wrmsr(fd, MSR_FEATURE_CONTROL, v) != 0, "feature-control-locked", "a locked MSR took a write");
    }
    close(fd);
}

/* The monitor's MSR policy is default-deny: writes that could move or weaken the monitor
 * fail (#GP, EIO through the msr driver) even where the CPU itself would take them. A write
 * that went through is undone at once. */
static void check_refused(int fd, uint32_t msr, uint64_t (*change)(uint64_t), const char *name) {
    uint64_t v = 0, after = 0;
    if (rdmsr(fd, msr, &v) != 0) {
        check(0, name, "the MSR cannot be read");
        return;
    }
    int const wrote = wrmsr(fd, msr, change(v));
    if (wrote == 0) wrmsr(fd, msr, v);
    rdmsr(fd, msr, &after);
    check(wrote != 0 && after == v, name, wrote == 0 ? "the write went through" : "the MSR changed");
}

static uint64_t apic_base_moved(uint64_t v) { return v + 0x10000; }           /* 0xFEE10000 */
static uint64_t mtrr_default_wc(uint64_t v) { return (v & ~0xFFull) | 1; }  /* write-combining */
static uint64_t xd_disabled(uint64_t v) { return v | (1ull << 34); }     /* NX off, the monitor's too */

static void check_msr_policy(void) {
    int fd = open("/dev/cpu/0/msr", O_RDWR);
    if (fd < 0) {
        check(0, "msr-policy", "cannot open /dev/cpu/0/msr (modprobe msr)");
        return;
    }
    check_refused(fd, 0x1B, apic_base_moved, "msr-apic-base-fixed");
    check_refused(fd, 0x2FF, mtrr_default_wc, "msr-mtrr-wc-refused");
    check_refused(fd, 0x1A0, xd_disabled, "msr-xd-disable-refused");
    close(fd);
}

static void check_stray_vmmcall(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigill;
    sigaction(SIGILL, &sa, NULL);
    unsigned a, b, c, d;
    __cpuid(0, a, b, c, d);
    int amd = b == 0x68747541;
    if (sigsetjmp(jump, 1) == 0) {
        uint64_t rax = 0x1234;  /* not thinvisor's magic */
        if (amd) __asm__ volatile("vmmcall" : "+a"(rax) : : "rbx", "rcx", "rdx", "rsi", "rdi", "memory");
        else __asm__ volatile("vmcall" : "+a"(rax) : : "rbx", "rcx", "rdx", "rsi", "rdi", "memory");
    }
    check(got_sigill, "stray-hypercall-ud", "a VMMCALL without the magic did not raise #UD");
}

/* Outside VMX operation every VMX instruction raises #UD; in VMX non-root operation VMREAD,
 * VMPTRST and INVEPT exit (at any privilege level), and the monitor must answer #UD. */
static void check_vmx_instructions(void) {
    uint64_t field = 0, value = 0, desc[2] = {0, 0};
    got_sigill = 0;
    if (sigsetjmp(jump, 1) == 0) __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
    check(got_sigill, "vmread-ud", "VMREAD did not raise #UD");
    got_sigill = 0;
    if (sigsetjmp(jump, 1) == 0) __asm__ volatile("vmptrst %0" : "=m"(value) : : "cc");
    check(got_sigill, "vmptrst-ud", "VMPTRST did not raise #UD");
    got_sigill = 0;
    if (sigsetjmp(jump, 1) == 0) __asm__ volatile("invept %0, %1" : : "m"(desc), "r"(field + 2) : "cc", "memory");
    check(got_sigill, "invept-ud", "INVEPT did not raise #UD");
}

/* The SVM instructions (VMMCALL aside): #UD on a CPU without SVM, at every privilege level.
 * Under thinvisor on AMD-V the real EFER.SVME is set, so at CPL 3 the CPU's privilege check
 * raises #GP before any intercept, and the monitor must turn that #GP into #UD. A SIGSEGV
 * here is that #GP leaking through. */
static volatile sig_atomic_t got_sigsegv;

static void on_sigsegv(int sig) {
    (void)sig;
    got_sigsegv = 1;
    siglongjmp(jump, 1);
}

#define SVM_INSN(name, modrm)                                                                    \
    do {                                                                                         \
        got_sigill = got_sigsegv = 0;                                                            \
        if (sigsetjmp(jump, 1) == 0)                                                             \
            __asm__ volatile(".byte 0x0f, 0x01, " #modrm : : "a"(0ul), "c"(0ul) : "memory", "cc"); \
        check(got_sigill, name, got_sigsegv ? "SIGSEGV (#GP) instead of #UD" : "no #UD");       \
    } while (0)

static void check_svm_instructions(void) {
    struct sigaction sa, old_segv;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigsegv;
    sigaction(SIGSEGV, &sa, &old_segv);
    SVM_INSN("vmrun-ud", 0xd8);
    SVM_INSN("vmload-ud", 0xda);
    SVM_INSN("vmsave-ud", 0xdb);
    SVM_INSN("stgi-ud", 0xdc);
    SVM_INSN("clgi-ud", 0xdd);
    SVM_INSN("skinit-ud", 0xde);
    SVM_INSN("invlpga-ud", 0xdf);
    sigaction(SIGSEGV, &old_segv, NULL);
}

int main(void) {
    check_cpuid();
    check_msrs();
    check_msr_policy();
    check_stray_vmmcall();
    check_vmx_instructions();
    check_svm_instructions();
    return failures ? 1 : 0;
}
