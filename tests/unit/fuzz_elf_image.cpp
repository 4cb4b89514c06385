// libFuzzer target: the UEFI loader's checks of thinvisor.elf (boot/efi/elf_image.c) on
// arbitrary files. Checks: no access out of bounds while checking (ASan/UBSan, the file is a
// private copy of exactly the input); an accepted file gives a plan whose every segment lies
// inside the file and inside the region without overflow, and tv_elf_copy then writes only
// the image_size bytes the plan claims (the region buffer is exactly that size).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/efi/elf_image.h"
#include "thinvisor/uefi_handoff.h"

namespace {

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

// Inputs are small; a plan bigger than this is checked but not copied (speed only).
constexpr uint64_t kMaxCopy = 4u << 20;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(unsigned char const* data, size_t size) {
    void* file = malloc(size ? size : 1);
    if (size) memcpy(file, data, size);
    uint64_t const region = TV_UEFI_REGION_SIZE;
    tv_elf_plan plan;
    memset(&plan, 0xA5, sizeof plan);
    if (tv_elf_check(file, size, region, &plan) == nullptr) {
        check(plan.count >= 1 && plan.count <= TV_ELF_MAX_SEGMENTS, "1 to TV_ELF_MAX_SEGMENTS segments");
        check(plan.image_size <= region, "the image fits in the region");
        for (unsigned i = 0; i < plan.count; ++i) {
            tv_elf_segment const& s = plan.seg[i];
            check(s.file_offset <= size && s.file_size <= size - s.file_offset, "a segment lies inside the file");
            check(s.file_size <= s.mem_size, "a segment's file part is no bigger than its memory");
            check(s.region_offset <= plan.image_size && s.mem_size <= plan.image_size - s.region_offset,
                  "a segment lies inside the image");
        }
        if (plan.image_size <= kMaxCopy) {
            void* dst = malloc(plan.image_size ? plan.image_size : 1);
            tv_elf_copy(file, &plan, dst);
            free(dst);
        }
    }
    free(file);
    return 0;
}
