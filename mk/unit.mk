# Host unit tests (GoogleTest) and fuzzers for the portable core modules.
# Included from the top-level Makefile; everything here is prefixed UNIT_ or unit-/fuzz.
#
#   make unit        build build/unit/unit_tests
#   make unit-run    build and run it
#   make fuzz        build the libFuzzer target(s) with clang
#   make fuzz-run    run the MemoryMap fuzzer for UNIT_FUZZ_SECONDS (default 30)
#   make unit-clean

UNIT_BUILD ?= build/unit
UNIT_CXX ?= g++
UNIT_CXXFLAGS ?= -std=c++20 -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
                 -Wall -Wextra -Werror -I.
UNIT_LDLIBS ?= -lgtest -lgtest_main -pthread

# Core sources built for the host. Extend with += BEFORE including this file: the rules
# below expand the list when they are read.
UNIT_CORE_SRCS += core/memmap.cpp core/page_alloc.cpp core/log_ring.cpp core/nested_paging.cpp
UNIT_TEST_SRCS := $(wildcard tests/unit/test_*.cpp)
UNIT_OBJS := $(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(UNIT_CORE_SRCS) $(UNIT_TEST_SRCS))
UNIT_BIN := $(UNIT_BUILD)/unit_tests

# Sources held to the stricter warnings the core modules promise (extend with +=).
UNIT_STRICT_FLAGS ?= -Wconversion -Wold-style-cast
UNIT_STRICT_SRCS += core/memmap.cpp core/page_alloc.cpp core/log_ring.cpp core/nested_paging.cpp \
                    tests/unit/test_memmap.cpp tests/unit/test_page_alloc.cpp \
                    tests/unit/test_log_ring.cpp tests/unit/test_nested_paging.cpp
$(patsubst %.cpp,$(UNIT_BUILD)/%.o,$(UNIT_STRICT_SRCS)): UNIT_EXTRA_FLAGS = $(UNIT_STRICT_FLAGS)

.PHONY: unit unit-run unit-clean fuzz fuzz-run

unit: $(UNIT_BIN)

unit-run: $(UNIT_BIN)
	$(UNIT_BIN)

$(UNIT_BIN): $(UNIT_OBJS)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) -o $@ $^ $(UNIT_LDLIBS)

# A static pattern rule, so it cannot compete with the monitor's own %.o rules.
$(UNIT_OBJS): $(UNIT_BUILD)/%.o: %.cpp
	@mkdir -p $(dir $@)
	$(UNIT_CXX) $(UNIT_CXXFLAGS) $(UNIT_EXTRA_FLAGS) -MMD -MP -c $< -o $@

-include $(UNIT_OBJS:.o=.d)

# libFuzzer needs clang. The fuzzer and the code under test are built in one step.
UNIT_FUZZ_CXX ?= clang++
UNIT_FUZZ_CXXFLAGS ?= -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
                      -fno-sanitize-recover=all -Wall -Wextra -Werror $(UNIT_STRICT_FLAGS) -I.
UNIT_FUZZ_SECONDS ?= 30
UNIT_FUZZ_MEMMAP := $(UNIT_BUILD)/fuzz_memmap

fuzz: $(UNIT_FUZZ_MEMMAP)

$(UNIT_FUZZ_MEMMAP): tests/unit/fuzz_memmap.cpp core/memmap.cpp core/memmap.hpp core/types.hpp
	@mkdir -p $(dir $@)
	$(UNIT_FUZZ_CXX) $(UNIT_FUZZ_CXXFLAGS) -o $@ tests/unit/fuzz_memmap.cpp core/memmap.cpp

fuzz-run: $(UNIT_FUZZ_MEMMAP)
	@mkdir -p $(UNIT_BUILD)/fuzz_memmap_corpus
	$(UNIT_FUZZ_MEMMAP) -max_total_time=$(UNIT_FUZZ_SECONDS) -print_final_stats=1 \
	    $(UNIT_BUILD)/fuzz_memmap_corpus

unit-clean:
	rm -rf $(UNIT_BUILD)
