// The bus-master policy for functions no mediator owns (drivers/pci/bus_master.hpp): the
// guest's writes to the command register reach the device with Bus Master Enable cleared,
// whatever their width and whichever route (CF8/CFC or ECAM), and [pci] allow_dma parses
// strictly.
#include <gtest/gtest.h>

#include <string>

#include "core/config.hpp"
#include "drivers/pci/bus_master.hpp"
#include "drivers/pci/config_hooks.hpp"
#include "drivers/pci/pci.hpp"
#include "tests/unit/fake_vcpu.hpp"

using namespace tv;
using namespace tv::pci;

namespace {

constexpr Bdf kNic{0, 3, 0};

// The device's configuration space as the pass-through reaches it: one register file.
class FakeConfigBus final : public ConfigBus {
  public:
    u32 read(Bdf, u16 reg, u8 size) override {
        u32 v = 0;
        for (u8 i = 0; i < size; ++i) v |= u32{space[reg + i]} << (8 * i);
        return v;
    }
    void write(Bdf, u16 reg, u8 size, u32 value) override {
        for (u8 i = 0; i < size; ++i) space[reg + i] = static_cast<u8>(value >> (8 * i));
        ++writes;
    }
    u16 command() const { return static_cast<u16>(space[4] | space[5] << 8); }
    u8 space[4096] = {};
    int writes = 0;
};

int g_logged = 0;
void count_log(BusMasterGate&) { ++g_logged; }

struct Gated {
    Device dev{"t"};
    BusMasterGate gate{kNic, 0, count_log};
    ConfigRouter router;
    FakeConfigBus bus;
    test::FakeVcpu v;
    Gated() {
        g_logged = 0;
        EXPECT_EQ(router.add(ConfigHook{kNic, kRegCommand, 1, bus_master_gate, &gate, "bm", 0, &dev}), Status::Ok);
    }
    // A guest access through the data ports, as config_ports.cpp decodes it; false when no
    // hook took it (it then reaches the device unchanged, as here).
    void port_write(u16 port, u8 size, u32 value) {
        ConfigAccess const a = decode_config_address(config_address(kNic, kRegCommand), port);
        if (!router.route(v, a.bdf, a.reg, size, true, &value, bus)) bus.write(a.bdf, a.reg, size, value);
    }
    void ecam_write(EcamWindow w, u64 gpa, u8 size, u32 value) {
        Bdf b{};
        u16 reg = 0;
        ASSERT_TRUE(ecam_decode(w, gpa, &b, &reg));
        if (!router.route(v, b, reg, size, true, &value, bus)) bus.write(b, reg, size, value);
    }
};

}  // namespace

TEST(PciBusMaster, StripsTheBitFromEveryWriteThatCoversByte4) {
    u32 v = 0x0007;
    EXPECT_TRUE(strip_bus_master(0x04, 4, &v));
    EXPECT_EQ(v, 0x0003u);
    v = 0xFFFF;
    EXPECT_TRUE(strip_bus_master(0x04, 2, &v));
    EXPECT_EQ(v, 0xFFFBu);
    v = 0x04;
    EXPECT_TRUE(strip_bus_master(0x04, 1, &v));
    EXPECT_EQ(v, 0u);
    v = 0x0400;  // unaligned (ECAM through the emulator): byte 0x04 is the value's second byte
    EXPECT_TRUE(strip_bus_master(0x03, 2, &v));
    EXPECT_EQ(v, 0u);
}

TEST(PciBusMaster, LeavesWritesThatDoNotSetItOrDoNotReachByte4Alone) {
    u32 v = 0x0003;
    EXPECT_FALSE(strip_bus_master(0x04, 2, &v));
    EXPECT_EQ(v, 0x0003u);
    v = 0x04;  // byte 0x05: bit 2 there is Fast Back-to-Back, not BME
    EXPECT_FALSE(strip_bus_master(0x05, 1, &v));
    EXPECT_EQ(v, 0x04u);
    v = 0xFFFF;  // the status register
    EXPECT_FALSE(strip_bus_master(0x06, 2, &v));
    v = 0xFFFFFFFF;  // the IDs
    EXPECT_FALSE(strip_bus_master(0x00, 4, &v));
    EXPECT_EQ(v, 0xFFFFFFFFu);
}

TEST(PciBusMaster, PortWritesOfEveryWidthReachTheDeviceWithoutTheBit) {
    Gated g;
    g.port_write(0xCFC, 4, 0x00000007);
    EXPECT_EQ(g.bus.command(), 0x0003);
    g.port_write(0xCFC, 2, 0x0107);
    EXPECT_EQ(g.bus.command(), 0x0103);
    g.port_write(0xCFC, 1, 0x06);
    EXPECT_EQ(g.bus.command(), 0x0102);
    EXPECT_EQ(g.gate.refusals, 3u);
    EXPECT_EQ(g_logged, 1);  // the first refusal only
    g.port_write(0xCFD, 1, 0x04);  // byte 0x05 (INTx disable's byte): not the gate's, unchanged
    EXPECT_EQ(g.bus.command(), 0x0402);
    EXPECT_EQ(g.gate.refusals, 3u);
}

TEST(PciBusMaster, EcamWritesAreGatedTheSameWay) {
    Gated g;
    EcamWindow const w{0xB0000000, 0, 255};
    u64 const page = ecam_page(w, kNic);
    g.ecam_write(w, page + 4, 4, 0x00000106);
    EXPECT_EQ(g.bus.command(), 0x0102);
    g.ecam_write(w, page + 4, 2, 0x0004);
    EXPECT_EQ(g.bus.command(), 0x0000);
    g.ecam_write(w, page + 4, 1, 0x05);
    EXPECT_EQ(g.bus.command(), 0x0001);
    g.ecam_write(w, page + 5, 1, 0x04);
    EXPECT_EQ(g.bus.command(), 0x0401);
    EXPECT_EQ(g.gate.refusals, 3u);
}

TEST(PciBusMaster, AReadShowsWhatTheDeviceHolds) {
    Gated g;
    g.bus.space[4] = 0x07;  // set behind the gate's back (by the firmware, say)
    u32 value = 0;
    EXPECT_TRUE(g.router.route(g.v, kNic, kRegCommand, 2, false, &value, g.bus));
    EXPECT_EQ(value, 0x0007u);
    EXPECT_EQ(g.gate.refusals, 0u);
}

TEST(PciBusMaster, BridgesOtherThanHostAndPciBridgesArePoliced) {
    Function f{};
    f.class_code = 0x06;
    f.subclass = 0x00;
    EXPECT_FALSE(bus_master_policed(f));  // host bridge
    f.subclass = 0x04;
    EXPECT_FALSE(bus_master_policed(f));  // PCI-to-PCI: its functions are policed each
    f.subclass = 0x01;
    EXPECT_TRUE(bus_master_policed(f));  // ISA bridge
    f.class_code = 0x02;
    f.subclass = 0x00;
    EXPECT_TRUE(bus_master_policed(f));  // a NIC
}

TEST(PciBusMaster, AllowDmaMatchesByAddressOrById) {
    Function f{};
    f.bdf = kNic;
    f.vendor = 0x8086;
    f.device = 0x100E;
    PciDmaAllow const by_addr{false, 0, 3, 0, 0, 0}, other_addr{false, 0, 3, 1, 0, 0};
    PciDmaAllow const by_id{true, 0, 0, 0, 0x8086, 0x100E}, other_id{true, 0, 0, 0, 0x8086, 0x10D3};
    EXPECT_TRUE(dma_allowed(f, &by_addr, 1));
    EXPECT_TRUE(dma_allowed(f, &by_id, 1));
    EXPECT_FALSE(dma_allowed(f, &other_addr, 1));
    EXPECT_FALSE(dma_allowed(f, &other_id, 1));
    EXPECT_FALSE(dma_allowed(f, nullptr, 0));
}

namespace {
bool parse(std::string const& text, Config* c) {
    ConfigError err{};
    return config_parse(text.data(), text.size(), c, &err);
}
}  // namespace

TEST(PciAllowDmaConfig, ParsesAddressesAndIdsOverSeveralLines) {
    Config c{};
    ASSERT_TRUE(parse("[pci]\nallow_dma = 00:03.0 8086:100e\nallow_dma = 1AF4:1001\n", &c));
    EXPECT_TRUE(c.pci.present);
    ASSERT_EQ(c.pci.allow_count, 3u);
    EXPECT_FALSE(c.pci.allow[0].by_id);
    EXPECT_EQ(c.pci.allow[0].dev, 3);
    EXPECT_TRUE(c.pci.allow[1].by_id);
    EXPECT_EQ(c.pci.allow[1].device, 0x100E);
    EXPECT_EQ(c.pci.allow[2].vendor, 0x1AF4);
}

TEST(PciAllowDmaConfig, RefusesEveryOtherSpelling) {
    Config c{};
    for (char const* bad : {"0:3.0", "00:20.0", "00:03.8", "00:03", "8086:10e", "8086:100e0", "ffff:0001", "0x8086:100e",
                            "00:03.0,8086:100e", "g0:03.0"})
        EXPECT_FALSE(parse(std::string("[pci]\nallow_dma = ") + bad + "\n", &c)) << bad;
    EXPECT_FALSE(parse("[pci]\nallow_dma_all = yes\n", &c));
    std::string many = "[pci]\nallow_dma =";
    for (int i = 0; i < 17; ++i) many += " 00:01.0";
    EXPECT_FALSE(parse(many + "\n", &c));
}
