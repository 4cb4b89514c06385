/* Counted allocations, files and the memory map (see efi_io.h). */
#include "efi_io.h"

UINTN tv_outstanding;

VOID *tv_pool_alloc(UINTN size) {
    VOID *p = NULL;
    if (EFI_ERROR(BS->AllocatePool(EfiLoaderData, size, &p))) return NULL;
    ++tv_outstanding;
    return p;
}

VOID tv_pool_free(VOID *p) {
    if (!p) return;
    BS->FreePool(p);
    --tv_outstanding;
}

VOID tv_pool_free_wiped(VOID *p, UINTN size) {
    if (!p) return;
    volatile UINT8 *b = p; /* volatile: a store just before FreePool must not be dropped */
    for (UINTN i = 0; i < size; ++i) b[i] = 0;
    tv_pool_free(p);
}

EFI_STATUS tv_pages_alloc(EFI_MEMORY_TYPE type, UINTN pages, EFI_PHYSICAL_ADDRESS *out) {
    EFI_STATUS s = BS->AllocatePages(AllocateAnyPages, type, pages, out);
    if (!EFI_ERROR(s)) ++tv_outstanding;
    return s;
}

VOID tv_pages_free(EFI_PHYSICAL_ADDRESS base, UINTN pages) {
    BS->FreePages(base, pages);
    --tv_outstanding;
}

CHAR16 *tv_ucs2(char const *ascii, UINTN *bytes) {
    UINTN n = 0;
    while (ascii[n]) ++n;
    CHAR16 *w = tv_pool_alloc((n + 1) * sizeof(CHAR16));
    if (!w) return NULL;
    for (UINTN i = 0; i <= n; ++i) w[i] = (CHAR16)(unsigned char)ascii[i];
    if (bytes) *bytes = (n + 1) * sizeof(CHAR16);
    return w;
}

EFI_STATUS tv_read_file(EFI_FILE_HANDLE root, char const *path, UINTN max_size, VOID **data, UINTN *size) {
    EFI_FILE_HANDLE f = NULL;
    CHAR16 *wpath = tv_ucs2(path, NULL);
    if (!wpath) return EFI_OUT_OF_RESOURCES;
    EFI_STATUS s = root->Open(root, &f, wpath, EFI_FILE_MODE_READ, 0);
    tv_pool_free(wpath);
    if (EFI_ERROR(s)) return s;
    EFI_FILE_INFO *info = LibFileInfo(f);  /* GNU-EFI's own pool buffer, not counted */
    if (!info) {
        f->Close(f);
        return EFI_DEVICE_ERROR;
    }
    UINT64 const file_size = info->FileSize;
    BOOLEAN const is_dir = (info->Attribute & EFI_FILE_DIRECTORY) != 0;
    FreePool(info);
    if (is_dir) s = EFI_NOT_FOUND;
    else if (file_size > max_size) s = EFI_BAD_BUFFER_SIZE;
    else if (!(*data = tv_pool_alloc(file_size ? file_size : 1))) s = EFI_OUT_OF_RESOURCES;
    if (EFI_ERROR(s)) {
        f->Close(f);
        return s;
    }
    UINTN got = file_size;
    s = f->Read(f, &got, *data);
    f->Close(f);
    if (!EFI_ERROR(s) && got != file_size) s = EFI_END_OF_FILE;
    if (EFI_ERROR(s)) {
        tv_pool_free_wiped(*data, file_size); /* a part read may be a module's */
        *data = NULL;
        return s;
    }
    *size = got;
    return EFI_SUCCESS;
}

UINT64 tv_reserved_pages(VOID) {
    UINTN entries, key, desc_size;
    UINT32 version;
    EFI_MEMORY_DESCRIPTOR *map = LibMemoryMap(&entries, &key, &desc_size, &version);
    if (!map) return 0;
    UINT64 pages = 0;
    for (UINTN i = 0; i < entries; ++i) {
        EFI_MEMORY_DESCRIPTOR const *d = (EFI_MEMORY_DESCRIPTOR const *)((UINT8 const *)map + i * desc_size);
        if (d->Type == EfiReservedMemoryType) pages += d->NumberOfPages;
    }
    FreePool(map);
    return pages;
}
