#include <gtest/gtest.h>

#include "core/arch/x86/svm/svm_intr_take.hpp"

using tv::svm::kNoVector;
using tv::svm::TakenVectors;

TEST(SvmTakenVectors, EmptyQueueGivesNoVector) {
    TakenVectors t;
    EXPECT_TRUE(t.empty());
    EXPECT_EQ(t.pop_highest(), kNoVector);
}

TEST(SvmTakenVectors, HighestVectorGoesFirstAsTheLocalApicWould) {
    TakenVectors t;
    t.add(0x31);
    t.add(0xEC);
    t.add(0x08);  // an 8259 vector in real mode
    t.add(0xFF);
    EXPECT_EQ(t.pop_highest(), 0xFFu);
    EXPECT_EQ(t.pop_highest(), 0xECu);
    EXPECT_EQ(t.pop_highest(), 0x31u);
    EXPECT_EQ(t.pop_highest(), 0x08u);
    EXPECT_TRUE(t.empty());
}

TEST(SvmTakenVectors, SameVectorTwiceIsOneInterruptAndNoVectorIsIgnored) {
    TakenVectors t;
    t.add(0x40);
    t.add(0x40);
    t.add(kNoVector);
    EXPECT_EQ(t.pop_highest(), 0x40u);
    EXPECT_EQ(t.pop_highest(), kNoVector);
}
