# The AoE initiator (aoe/): host unit tests, a freestanding build with the monitor's flags,
# the host port and CLI (build/tools/aoe-client) and a libFuzzer target.
# Included from the top-level Makefile before mk/unit.mk.
#
#   make aoe-tools      build/tools/aoe-client (tests/suites/aoe_vblade.py uses it)
#   make aoe-mon        compile aoe/*.cpp with the monitor's flags (no objects linked yet)
#   make aoe-fuzz       build/unit/fuzz_aoe (clang, libFuzzer)
#   make aoe-fuzz-run   run it for AOE_FUZZ_SECONDS (default 60)

AOE_SRCS := aoe/frame.cpp aoe/ata.cpp aoe/rtt.cpp aoe/initiator.cpp
AOE_HDRS := $(wildcard aoe/*.hpp) core/types.hpp
AOE_HOST_SRCS := aoe/host/raw_socket.cpp tools/aoe-client/aoe_client.cpp
AOE_TEST_SRCS := $(wildcard tests/unit/test_aoe_*.cpp)

UNIT_CORE_SRCS += $(AOE_SRCS)
UNIT_STRICT_SRCS += $(AOE_SRCS) $(AOE_TEST_SRCS)

# --- the host tool: optimized, no sanitizers (it is also the throughput probe) ---
AOE_TOOL := $(BUILD)/tools/aoe-client
AOE_TOOL_CXXFLAGS ?= -std=c++20 -O2 -g -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I.

.PHONY: aoe-tools aoe-mon aoe-fuzz aoe-fuzz-run
aoe-tools: $(AOE_TOOL)

$(AOE_TOOL): $(AOE_SRCS) $(AOE_HOST_SRCS) $(AOE_HDRS) $(wildcard aoe/host/*.hpp)
	@mkdir -p $(dir $@)
	g++ $(AOE_TOOL_CXXFLAGS) -o $@ $(AOE_SRCS) $(AOE_HOST_SRCS)

TEST_DEPS += aoe-tools aoe-mon

# --- freestanding: the same sources with the monitor's flags, plus the stricter warnings, and
# no static constructors (the monitor runs none) ---
AOE_MON_OBJS := $(patsubst %.cpp,$(BUILD)/mon/%.o,$(AOE_SRCS))
$(AOE_MON_OBJS): MON_CXXFLAGS += -Wconversion
aoe-mon: $(AOE_MON_OBJS)
	@for o in $^; do \
	  if objdump -h $$o | grep -Eq '\.(init_array|ctors)'; then echo "$$o: static constructor"; exit 1; fi; \
	done

# --- libFuzzer: arbitrary frames and timer ticks against an initiator with I/O in flight ---
AOE_FUZZ := $(BUILD)/unit/fuzz_aoe
AOE_FUZZ_SECONDS ?= 60
aoe-fuzz: $(AOE_FUZZ)
fuzz: $(AOE_FUZZ)

$(AOE_FUZZ): tests/unit/fuzz_aoe.cpp tests/unit/test_aoe_fake.hpp $(AOE_SRCS) $(AOE_HDRS)
	@mkdir -p $(dir $@)
	clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	    -Wall -Wextra -Werror -Wconversion -Wold-style-cast -I. -o $@ tests/unit/fuzz_aoe.cpp $(AOE_SRCS)

aoe-fuzz-run: $(AOE_FUZZ)
	@mkdir -p $(BUILD)/unit/fuzz_aoe_corpus
	$(AOE_FUZZ) -max_total_time=$(AOE_FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/unit/fuzz_aoe_corpus
