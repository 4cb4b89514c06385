/*
 * thinvisor: lwIP 2.1 architecture header (arch/cc.h) for the freestanding
 * monitor, built by mk/deps.sh with the host gcc against newlib's headers.
 *
 * The monitor provides these hooks (C linkage):
 *   u32_t sys_now(void);                          milliseconds, monotonic
 *   sys_prot_t sys_arch_protect(void);            see SYS_LIGHTWEIGHT_PROT
 *   void sys_arch_unprotect(sys_prot_t old);
 *   unsigned int lwip_port_rand(void);            LWIP_RAND()
 *   void lwip_port_diag(const char *fmt, ...);    LWIP_PLATFORM_DIAG()
 *   void lwip_port_assert(const char *msg, const char *file, int line);
 *                                                 LWIP_PLATFORM_ASSERT(),
 *                                                 must not return
 */
#ifndef THINVISOR_LWIP_ARCH_CC_H
#define THINVISOR_LWIP_ARCH_CC_H

/* newlib first: its sys/types.h defines ssize_t and BYTE_ORDER.  lwIP would
 * otherwise define both itself and clash with newlib. */
#include <sys/types.h>
#include <limits.h>

#ifndef SSIZE_MAX
#define SSIZE_MAX LONG_MAX
#endif
/* ssize_t comes from sys/types.h; there is no unistd.h worth including. */
#define LWIP_NO_UNISTD_H 1

/* BYTE_ORDER is left to newlib (<machine/endian.h>, little endian). */

#ifdef __cplusplus
extern "C" {
#endif

/* SYS_LIGHTWEIGHT_PROT=1: sys_arch_protect() returns the old state
 * (for example RFLAGS, with interrupts then disabled). */
typedef unsigned long sys_prot_t;

unsigned int lwip_port_rand(void);
void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lwip_port_assert(const char *msg, const char *file, int line)
    __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#define LWIP_RAND() ((u32_t)lwip_port_rand())
#define LWIP_PLATFORM_DIAG(x) do { lwip_port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) lwip_port_assert((x), __FILE__, __LINE__)

/* Byte swapping with the compiler's builtins (plain instructions). */
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

#define PACK_STRUCT_STRUCT __attribute__((packed))

#endif /* THINVISOR_LWIP_ARCH_CC_H */
