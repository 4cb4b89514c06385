# The UEFI loader: build/thinvisor.efi, a GNU-EFI 3.0.15 application (boot/efi/*.c, *.S).
# Flags as platform.md verified them: short wchar_t for L"" strings, no red zone, MS ABI for
# firmware calls (GNU_EFI_USE_MS_ABI), PIC linked -shared against GNU-EFI's crt0 and linker
# script, then objcopy to a PE32+ EFI application keeping the sections OVMF needs.
#
#   make efi    build build/thinvisor.efi
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_BUILD := $(BUILD)/efi
EFI_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(EFI_INC) -I$(EFI_INC)/x86_64 -Iinclude \
  -fpic -fshort-wchar -mno-red-zone -fno-stack-protector -ffreestanding -maccumulate-outgoing-args \
  -fno-asynchronous-unwind-tables -DGNU_EFI_USE_MS_ABI
EFI_SRCS := $(wildcard boot/efi/*.c) $(wildcard boot/efi/*.S)
EFI_OBJS := $(patsubst %,$(EFI_BUILD)/%.o,$(EFI_SRCS))
EFI_SECTIONS := .text .sdata .data .dynamic .dynsym .rel .rela .rel.* .rela.* .reloc

.PHONY: efi
efi: $(BUILD)/thinvisor.efi

$(EFI_BUILD)/%.c.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC   $< (efi)"
	@gcc $(EFI_CFLAGS) -MMD -MP -c $< -o $@

$(EFI_BUILD)/%.S.o: %.S
	@mkdir -p $(dir $@)
	@echo "  AS   $< (efi)"
	@gcc $(EFI_CFLAGS) -MMD -MP -c $< -o $@

$(EFI_BUILD)/thinvisor.so: $(EFI_OBJS)
	ld -nostdlib -znocombreloc -T $(EFI_LIB)/elf_x86_64_efi.lds -shared -Bsymbolic \
	  $(EFI_LIB)/crt0-efi-x86_64.o $(EFI_OBJS) -L$(EFI_LIB) -lefi -lgnuefi -o $@

$(BUILD)/thinvisor.efi: $(EFI_BUILD)/thinvisor.so
	objcopy $(addprefix -j ,$(EFI_SECTIONS)) --target efi-app-x86_64 --subsystem=10 $< $@

-include $(EFI_OBJS:.o=.d)

# `make test` builds the loader too (tests/suites/uefi.py boots it).
TEST_DEPS += efi

# The loader's pure parts (no EFI headers) are host-tested by tests/unit/test_efi_*.cpp:
# built as C with the unit tests' sanitizers and linked into the unit test binary.
EFI_UNIT_SRCS := boot/efi/loader_conf.c boot/efi/elf_image.c boot/efi/handoff.c
EFI_UNIT_OBJS := $(patsubst %.c,$(or $(UNIT_BUILD),build/unit)/%.o,$(EFI_UNIT_SRCS))
$(or $(UNIT_BUILD),build/unit)/unit_tests: $(EFI_UNIT_OBJS)
$(EFI_UNIT_OBJS): $(or $(UNIT_BUILD),build/unit)/%.o: %.c
	@mkdir -p $(dir $@)
	gcc -std=gnu11 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -Wall -Wextra -Werror \
	  -Wconversion -Iinclude -MMD -MP -c $< -o $@
-include $(EFI_UNIT_OBJS:.o=.d)
EFI_UNIT_TESTS := $(patsubst %.cpp,$(or $(UNIT_BUILD),build/unit)/%.o,$(wildcard tests/unit/test_efi_*.cpp))
$(EFI_UNIT_TESTS): UNIT_EXTRA_FLAGS = -Iinclude -Wconversion -Wold-style-cast

# The bench peer: the same loader built with TV_BENCH_NO_MONITOR (chains without starting
# the monitor), for tests/bench/uefi_bench.py. Never installed.
EFI_PEER_BUILD := $(BUILD)/efi-peer
EFI_PEER_OBJS := $(patsubst %,$(EFI_PEER_BUILD)/%.o,$(EFI_SRCS))
$(EFI_PEER_BUILD)/%.o: %
	@mkdir -p $(dir $@)
	@gcc $(EFI_CFLAGS) -DTV_BENCH_NO_MONITOR -MMD -MP -c $< -o $@
$(EFI_PEER_BUILD)/thinvisor-peer.so: $(EFI_PEER_OBJS)
	ld -nostdlib -znocombreloc -T $(EFI_LIB)/elf_x86_64_efi.lds -shared -Bsymbolic \
	  $(EFI_LIB)/crt0-efi-x86_64.o $(EFI_PEER_OBJS) -L$(EFI_LIB) -lefi -lgnuefi -o $@
$(EFI_PEER_BUILD)/thinvisor-peer.efi: $(EFI_PEER_BUILD)/thinvisor-peer.so
	objcopy $(addprefix -j ,$(EFI_SECTIONS)) --target efi-app-x86_64 --subsystem=10 $< $@
-include $(EFI_PEER_OBJS:.o=.d)
bench: efi $(EFI_PEER_BUILD)/thinvisor-peer.efi
# make test runs every bench once (tests/suites/bench_smoke.py), the UEFI one with its peer loader.
TEST_DEPS += $(EFI_PEER_BUILD)/thinvisor-peer.efi
