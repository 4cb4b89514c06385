# The monitor clock's deadline table (core/deadlines.*): host unit tests with strict warnings.
# Included by the top-level Makefile before mk/unit.mk.
#
#   make clock-unit   run only these tests of build/unit/unit_tests

UNIT_BUILD ?= build/unit
UNIT_CORE_SRCS += core/deadlines.cpp
UNIT_STRICT_SRCS += core/deadlines.cpp tests/unit/test_deadlines.cpp tests/unit/test_svm_taken_vectors.cpp

.PHONY: clock-unit
clock-unit: $(UNIT_BUILD)/unit_tests
	$(UNIT_BUILD)/unit_tests --gtest_filter='Deadlines*:SvmTakenVectors*:SvmInterruptedEvent*:SvmVirtualInterruptPlan*:SvmClockSwitch*'
