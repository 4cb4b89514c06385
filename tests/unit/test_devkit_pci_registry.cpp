// The PCI driver registry (core/device/pci_registry) with fake drivers: it alone walks the
// functions, offers each to the drivers in order, and a part one driver took is never handed
// to the next, so no mediator has to ask another what it owns.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/device/pci_registry.hpp"

using namespace tv;
using namespace tv::pci;

namespace {

Function ide(u8 dev) {
    Function f{};
    f.bdf = Bdf{0, dev, 1};
    f.class_code = 0x01;
    f.subclass = 0x01;
    return f;
}
Function nic(u8 dev) {
    Function f{};
    f.bdf = Bdf{0, dev, 0};
    f.vendor = 0x8086;
    f.device = 0x100E;
    f.class_code = 0x02;
    return f;
}

std::vector<std::string> g_events;  // what the fake drivers saw, in order
bool g_aoe_active = true;

bool is_ide(Function const& f) { return f.class_code == 0x01 && f.subclass == 0x01; }
std::string where(Function const& f) { return std::to_string(f.bdf.dev); }

// Takes the primary channel of the first IDE function, like the AoE disk.
Status aoe_prepare(bool* active) {
    *active = g_aoe_active;
    g_events.push_back("aoe prepare");
    return Status::Ok;
}
Status aoe_attach(Function const& f, PciClaim& c) {
    g_events.push_back("aoe attach " + where(f) + (c.take(kIdePrimary) ? " primary" : " none"));
    return Status::Ok;
}
Status aoe_finish() {
    g_events.push_back("aoe finish");
    return Status::Ok;
}
// Takes every channel still free, like the IDE mediator.
Status ide_attach(Function const& f, PciClaim& c) {
    std::string e = "ide attach " + where(f);
    if (c.take(kIdePrimary)) e += " primary";
    if (c.take(kIdeSecondary)) e += " secondary";
    g_events.push_back(e);
    return Status::Ok;
}
bool is_nic(Function const& f) { return f.vendor == 0x8086; }
Status nic_attach(Function const& f, PciClaim& c) {
    g_events.push_back("nic attach " + where(f) + (c.take(kAllParts) ? " all" : " none"));
    return Status::Ok;
}
Status failing_attach(Function const&, PciClaim&) { return Status::NoMemory; }
// Would take a whole function another driver has a part of.
Status greedy_attach(Function const& f, PciClaim& c) {
    g_events.push_back("greedy attach " + where(f) + (c.take(kAllParts) ? " all" : " refused"));
    return Status::Ok;
}

PciDriver const kAoe{"aoe", aoe_prepare, is_ide, aoe_attach, aoe_finish};
PciDriver const kIde{"ide", nullptr, is_ide, ide_attach, nullptr};
PciDriver const kNic{"nic", nullptr, is_nic, nic_attach, nullptr};
PciDriver const kFailing{"failing", nullptr, is_ide, failing_attach, nullptr};
PciDriver const kGreedy{"greedy", nullptr, is_ide, greedy_attach, nullptr};

class PciRegistryTest : public ::testing::Test {
  protected:
    void SetUp() override {
        g_events.clear();
        g_aoe_active = true;
    }
    Status run() { return reg.attach_all(fns.data(), fns.size(), &failed); }

    PciRegistry reg;
    std::vector<Function> fns{nic(3), ide(1), ide(5)};
    char const* failed = nullptr;
};

TEST_F(PciRegistryTest, EachDriverIsOfferedOnlyTheFunctionsItMatchesInOrder) {
    ASSERT_TRUE(ok(reg.add(&kNic)));
    ASSERT_TRUE(ok(reg.add(&kIde)));
    ASSERT_TRUE(ok(run()));
    EXPECT_EQ(g_events, (std::vector<std::string>{"nic attach 3 all", "ide attach 1 primary secondary",
                                                  "ide attach 5 primary secondary"}));
    EXPECT_EQ(reg.owner(Bdf{0, 3, 0}, kAllParts), &kNic);
    EXPECT_EQ(reg.owner(Bdf{0, 5, 1}, kIdeSecondary), &kIde);
}

TEST_F(PciRegistryTest, APartTakenByAnEarlierDriverIsNotHandedToALaterOne) {
    ASSERT_TRUE(ok(reg.add(&kAoe)));
    ASSERT_TRUE(ok(reg.add(&kIde)));
    ASSERT_TRUE(ok(run()));
    EXPECT_EQ(g_events, (std::vector<std::string>{"aoe prepare", "aoe attach 1 primary", "aoe attach 5 primary",
                                                  "aoe finish", "ide attach 1 secondary", "ide attach 5 secondary"}));
    EXPECT_EQ(reg.owner(Bdf{0, 1, 1}, kIdePrimary), &kAoe);
    EXPECT_EQ(reg.owner(Bdf{0, 1, 1}, kIdeSecondary), &kIde);
}

TEST_F(PciRegistryTest, AnInactiveDriverTakesNothing) {
    g_aoe_active = false;
    ASSERT_TRUE(ok(reg.add(&kAoe)));
    ASSERT_TRUE(ok(reg.add(&kIde)));
    ASSERT_TRUE(ok(run()));
    EXPECT_EQ(g_events, (std::vector<std::string>{"aoe prepare", "ide attach 1 primary secondary",
                                                  "ide attach 5 primary secondary"}));
}

TEST_F(PciRegistryTest, TakingAWholeFunctionFailsWhenAnotherOwnsAPart) {
    ASSERT_TRUE(ok(reg.add(&kAoe)));
    ASSERT_TRUE(ok(reg.add(&kGreedy)));
    ASSERT_TRUE(ok(run()));
    EXPECT_EQ(g_events[4], "greedy attach 1 refused");
    EXPECT_EQ(reg.owner(Bdf{0, 1, 1}, kIdeSecondary), nullptr);  // a refused take leaves nothing behind
}

TEST_F(PciRegistryTest, AFullyOwnedFunctionIsNotOfferedAgain) {
    ASSERT_TRUE(ok(reg.add(&kNic)));
    ASSERT_TRUE(ok(reg.add(&kGreedy)));
    ASSERT_TRUE(ok(reg.add(&kIde)));
    ASSERT_TRUE(ok(run()));
    EXPECT_EQ(g_events, (std::vector<std::string>{"nic attach 3 all", "greedy attach 1 all", "greedy attach 5 all"}));
}

TEST_F(PciRegistryTest, AnAttachErrorStopsTheBootAndNamesTheDriver) {
    ASSERT_TRUE(ok(reg.add(&kNic)));
    ASSERT_TRUE(ok(reg.add(&kFailing)));
    ASSERT_TRUE(ok(reg.add(&kIde)));
    EXPECT_EQ(run(), Status::NoMemory);
    ASSERT_NE(failed, nullptr);
    EXPECT_STREQ(failed, "failing");
    EXPECT_EQ(g_events, (std::vector<std::string>{"nic attach 3 all"}));  // the IDE driver never ran
}

TEST_F(PciRegistryTest, DriversAreRegisteredOnceAndComplete) {
    EXPECT_TRUE(ok(reg.add(&kIde)));
    EXPECT_EQ(reg.add(&kIde), Status::Exists);
    PciDriver const incomplete{"x", nullptr, nullptr, ide_attach, nullptr};
    EXPECT_EQ(reg.add(&incomplete), Status::Invalid);
    EXPECT_EQ(reg.add(nullptr), Status::Invalid);
}

}  // namespace
