/* Firmware services the loader needs, wrapped so that every allocation is counted: a run
 * that fails must give back all it took (loader.c checks the count reaches zero). */
#ifndef TV_EFI_IO_H
#define TV_EFI_IO_H

#include <efi.h>
#include <efilib.h>

/* Allocations not yet freed (pool buffers and page ranges). */
extern UINTN tv_outstanding;

VOID *tv_pool_alloc(UINTN size);
VOID tv_pool_free(VOID *p);
/* Zeroes size bytes at p, then frees it: for buffers that held boot modules (keyslot files,
 * thinvisor.conf), which must not stay in memory the next OS takes as free RAM. */
VOID tv_pool_free_wiped(VOID *p, UINTN size);
EFI_STATUS tv_pages_alloc(EFI_MEMORY_TYPE type, UINTN pages, EFI_PHYSICAL_ADDRESS *out);
VOID tv_pages_free(EFI_PHYSICAL_ADDRESS base, UINTN pages);

/* ASCII -> UCS-2 in a new pool buffer (NULL when out of memory). *bytes (if given) is the
 * size including the terminating NUL, as LoadOptionsSize wants it. */
CHAR16 *tv_ucs2(char const *ascii, UINTN *bytes);

/* Reads a whole file of the loader's partition into a new pool buffer. Files larger than
 * max_size are refused with EFI_BAD_BUFFER_SIZE. */
EFI_STATUS tv_read_file(EFI_FILE_HANDLE root, char const *path, UINTN max_size, VOID **data, UINTN *size);

/* Pages of EfiReservedMemoryType in the current memory map (0 when it cannot be read). */
UINT64 tv_reserved_pages(VOID);

#endif
