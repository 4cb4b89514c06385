# crypto/ (XTS-AES-256, keyslots, key policy) and tools/thinvisor-disk: host builds, tests,
# fuzzer, benchmark and a freestanding build check. Included by the top-level Makefile before
# mk/unit.mk; everything here is prefixed CRYPTO_ or crypto-.
#
#   make disk-tool         build/tools/thinvisor-disk (host tool, -O2, host mbedTLS)
#   make crypto-mon        crypto/ built with the monitor's flags into build/mon/crypto/libtvcrypto.a,
#                          and a check that only the AES-NI object touches xmm registers
#   make crypto-fuzz       the keyslot-parser libFuzzer target (clang)
#   make crypto-fuzz-run   run it for UNIT_FUZZ_SECONDS (default 30)
#   make xts-bench         build/tools/xts_bench (tests/bench/xts_bench.py runs it)
#
# mbedTLS for the host is compiled from the sources `make deps` fetched (third_party/src), with
# the monitor's configuration (third_party/mbedtls/include/mbedtls/config.h), into build/.

# The same default as mk/unit.mk, which is read after this file.
UNIT_BUILD ?= build/unit

CRYPTO_SRCS := crypto/aesni_gcm.cpp crypto/aesni_xts.cpp crypto/cpu_features.cpp crypto/crc32.cpp \
               crypto/fpu_guard.cpp crypto/gcm.cpp crypto/kdf.cpp crypto/key_policy.cpp crypto/keyslot.cpp crypto/keyslot_format.cpp \
               crypto/secure_zero.cpp crypto/xts.cpp
CRYPTO_SSE_SRCS := crypto/aesni_xts.cpp crypto/aesni_gcm.cpp   # the files built with SSE (and -maes -mpclmul)
CRYPTO_SSE_ISA := -maes -mpclmul -mssse3
CRYPTO_INC := -isystem $(TP)/mbedtls/include
CRYPTO_HOST_BUILD := $(BUILD)/crypto-host
CRYPTO_HOST_CXX ?= g++
CRYPTO_HOST_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -Wconversion -Wold-style-cast \
                        -Wzero-as-null-pointer-constant -I. $(CRYPTO_INC)

# ---- mbedTLS built for the host ----------------------------------------------------------
# Only what crypto/ needs (AES/XTS, GCM, PBKDF2-HMAC-SHA256 and what those pull in).
CRYPTO_MBEDTLS_SRC := $(TP)/src/mbedtls/library
CRYPTO_MBEDTLS_NAMES := aes aesni asn1parse bignum cipher cipher_wrap constant_time gcm md oid pkcs5 \
                        platform_util sha1 sha256 sha512
CRYPTO_MBEDTLS_C := $(patsubst %,$(CRYPTO_MBEDTLS_SRC)/%.c,$(CRYPTO_MBEDTLS_NAMES))
CRYPTO_MBEDTLS_OBJS := $(patsubst %,$(CRYPTO_HOST_BUILD)/mbedtls/%.o,$(CRYPTO_MBEDTLS_NAMES))
CRYPTO_MBEDTLS_LIB := $(CRYPTO_HOST_BUILD)/libmbedcrypto-host.a

# The sources appear only once `make deps` ran: say so, so that make waits for them.
$(CRYPTO_MBEDTLS_C): | $(DEPS_STAMP)

$(CRYPTO_MBEDTLS_OBJS): $(CRYPTO_HOST_BUILD)/mbedtls/%.o: $(CRYPTO_MBEDTLS_SRC)/%.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CC   $< (host)"
	@gcc -O2 -g -Wall -I$(TP)/mbedtls/include -I$(CRYPTO_MBEDTLS_SRC) -c $< -o $@

$(CRYPTO_MBEDTLS_LIB): $(CRYPTO_MBEDTLS_OBJS)
	@rm -f $@
	ar rcs $@ $^

# ---- crypto/ for the host (-O2: the disk tool and the benchmark) ----------------------------
CRYPTO_HOST_OBJS := $(patsubst %.cpp,$(CRYPTO_HOST_BUILD)/%.o,$(CRYPTO_SRCS))

$(CRYPTO_HOST_OBJS): $(CRYPTO_HOST_BUILD)/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CXX  $< (host)"
	@$(CRYPTO_HOST_CXX) $(CRYPTO_HOST_CXXFLAGS) $(CRYPTO_SSE_FLAGS) -MMD -MP -c $< -o $@
$(patsubst %.cpp,$(CRYPTO_HOST_BUILD)/%.o,$(CRYPTO_SSE_SRCS)): CRYPTO_SSE_FLAGS = $(CRYPTO_SSE_ISA)

# ---- tools/thinvisor-disk ------------------------------------------------------------------
CRYPTO_TOOL := $(BUILD)/tools/thinvisor-disk
CRYPTO_TOOL_SRCS := $(wildcard tools/thinvisor-disk/*.cpp)
CRYPTO_TOOL_OBJS := $(patsubst %.cpp,$(CRYPTO_HOST_BUILD)/%.o,$(CRYPTO_TOOL_SRCS))

$(CRYPTO_TOOL_OBJS): $(CRYPTO_HOST_BUILD)/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CXX  $< (host)"
	@$(CRYPTO_HOST_CXX) $(CRYPTO_HOST_CXXFLAGS) -MMD -MP -c $< -o $@

$(CRYPTO_TOOL): $(CRYPTO_TOOL_OBJS) $(CRYPTO_HOST_OBJS) $(CRYPTO_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	$(CRYPTO_HOST_CXX) -o $@ $^

.PHONY: disk-tool xts-bench crypto-mon crypto-fuzz crypto-fuzz-run
disk-tool: $(CRYPTO_TOOL)
TEST_DEPS += disk-tool

# ---- benchmark -----------------------------------------------------------------------------
CRYPTO_BENCH := $(BUILD)/tools/xts_bench
CRYPTO_BENCH_OBJ := $(CRYPTO_HOST_BUILD)/tests/bench/xts_bench.o

$(CRYPTO_BENCH_OBJ): $(CRYPTO_HOST_BUILD)/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@$(CRYPTO_HOST_CXX) $(CRYPTO_HOST_CXXFLAGS) -MMD -MP -c $< -o $@

# With OpenSSL's headers (libssl-dev) the bench can also run OpenSSL's EVP XTS interleaved with
# ours (--interleave); without them that mode is compiled out.
CRYPTO_BENCH_LIBS := $(if $(wildcard /usr/include/openssl/evp.h),-lcrypto)

$(CRYPTO_BENCH): $(CRYPTO_BENCH_OBJ) $(CRYPTO_HOST_OBJS) $(CRYPTO_MBEDTLS_LIB)
	@mkdir -p $(dir $@)
	$(CRYPTO_HOST_CXX) -o $@ $^ $(CRYPTO_BENCH_LIBS)

xts-bench: $(CRYPTO_BENCH)

-include $(CRYPTO_HOST_OBJS:.o=.d) $(CRYPTO_TOOL_OBJS:.o=.d) $(CRYPTO_BENCH_OBJ:.o=.d)

# ---- unit tests (mk/unit.mk builds and links them) -----------------------------------------
# The crypto sources and these tests get the strict warnings and the mbedTLS headers through
# their own target-specific flags; they are deliberately not in UNIT_STRICT_SRCS, whose
# assignment would replace these flags.
UNIT_CORE_SRCS += $(CRYPTO_SRCS)
CRYPTO_UNIT_TESTS := $(wildcard tests/unit/test_xts*.cpp tests/unit/test_keyslot*.cpp) \
                     tests/unit/test_key_policy.cpp
CRYPTO_UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(CRYPTO_SRCS) $(CRYPTO_UNIT_TESTS))
$(CRYPTO_UNIT_OBJS): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS) $(CRYPTO_INC) $(CRYPTO_SSE_FLAGS)
$(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(CRYPTO_SSE_SRCS)): CRYPTO_SSE_FLAGS = $(CRYPTO_SSE_ISA)
$(CRYPTO_UNIT_OBJS): | $(DEPS_STAMP)
# The host mbedTLS as an extra prerequisite of the test binary: unit.mk links with $^, which
# lists it after the objects, as a static library must be. (Appending to UNIT_LDLIBS here
# would define it before unit.mk's `?=` and drop the GoogleTest libraries.)
$(UNIT_BUILD)/unit_tests: $(CRYPTO_MBEDTLS_LIB)

# ---- libFuzzer: the keyslot parser ---------------------------------------------------------
CRYPTO_FUZZ := $(UNIT_BUILD)/fuzz_keyslot
CRYPTO_FUZZ_SRCS := tests/unit/fuzz_keyslot.cpp crypto/keyslot_format.cpp crypto/crc32.cpp

$(CRYPTO_FUZZ): $(CRYPTO_FUZZ_SRCS) crypto/keyslot_format.hpp crypto/crc32.hpp crypto/le.hpp core/types.hpp
	@mkdir -p $(dir $@)
	$(UNIT_FUZZ_CXX) $(UNIT_FUZZ_CXXFLAGS) -o $@ $(CRYPTO_FUZZ_SRCS)

crypto-fuzz: $(CRYPTO_FUZZ)
fuzz: $(CRYPTO_FUZZ)

crypto-fuzz-run: $(CRYPTO_FUZZ)
	@mkdir -p $(UNIT_BUILD)/fuzz_keyslot_corpus
	$(CRYPTO_FUZZ) -max_total_time=$(UNIT_FUZZ_SECONDS) -print_final_stats=1 \
	    $(UNIT_BUILD)/fuzz_keyslot_corpus

# ---- freestanding build check --------------------------------------------------------------
# crypto/ compiled exactly as the monitor will compile it, plus a check that no object but
# the AES-NI one uses SSE registers (everything else must be safe without an FpuGuard).
# The monitor links $(CRYPTO_MON_LIB) together with third_party/mbedtls/libmbedcrypto.a.
CRYPTO_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(CRYPTO_SRCS))
CRYPTO_MON_LIB := $(BUILD)/mon/crypto/libtvcrypto.a
CRYPTO_MON_SSE_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(CRYPTO_SSE_SRCS))

$(CRYPTO_MON_OBJS): $(BUILD)/mon/%.o: %.cpp | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	@echo "  CXX  $< (monitor)"
	@g++ $(CRYPTO_MON_FLAGS) $(CRYPTO_INC) -MMD -MP -c $< -o $@
$(CRYPTO_MON_OBJS): CRYPTO_MON_FLAGS = $(MON_CXXFLAGS)
$(CRYPTO_MON_SSE_OBJS): CRYPTO_MON_FLAGS = $(filter-out -mgeneral-regs-only,$(MON_CXXFLAGS)) $(CRYPTO_SSE_ISA)

$(CRYPTO_MON_LIB): $(CRYPTO_MON_OBJS)
	@rm -f $@
	ar rcs $@ $^
	@sse=$$(objdump -d $^ | awk '/file format/ { m = $$1; sub(/:$$/, "", m) } /%[xyz]mm[0-9]/ { print m }' | sort -u); \
	 want="$(CRYPTO_MON_SSE_OBJS)"; \
	 for m in $$sse; do case " $$want " in *" $$m "*) ;; *) echo "crypto-mon: $$m uses SSE registers" >&2; exit 1 ;; esac; done; \
	 echo "crypto-mon: ok, SSE only in: $$sse"

crypto-mon: $(CRYPTO_MON_LIB)

-include $(CRYPTO_MON_OBJS:.o=.d)
