// A USB stick behind the EHCI mediator, for the mass-storage tests (test_ehci_storage*.cpp):
// the fake controller of test_ehci_fake.hpp with a Bulk-Only stick behind it that moves the
// bytes the shadow's buffers name; the guest queues qTDs as Linux's ehci-hcd does (each
// transfer appended through the QH's inactive dummy qTD).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "crypto/xts.hpp"
#include "storage/key_table.hpp"
#include "tests/unit/test_ehci_stick.hpp"

namespace tv::usb::test {

inline storage::KeyEntry g_key;

inline void enroll(char const* serial) {
    g_key = storage::KeyEntry{};
    strcpy(g_key.serial, serial);
    g_key.bus = storage::Bus::Usb;
    g_key.data_unit = 512;
    for (u32 i = 0; i < 64; ++i) g_key.master_key[i] = static_cast<u8>(0x3C + i * 5);
    ASSERT_EQ(storage::set_keys(&g_key, 1, true), Status::Ok);
}
inline void no_keys() { ASSERT_EQ(storage::set_keys(nullptr, 0, false), Status::Ok); }

inline std::vector<u8> pattern(u32 bytes, u8 seed) {
    std::vector<u8> v(bytes);
    for (u32 i = 0; i < bytes; ++i) v[i] = static_cast<u8>(seed + i * 13 + i / 512);
    return v;
}

inline std::vector<u8> xts(bool encrypt, u64 lba, std::vector<u8> v) {
    crypto::Xts x;
    EXPECT_EQ(x.set_key(g_key.master_key), Status::Ok);
    u64 const n = v.size() / 512;
    EXPECT_EQ(encrypt ? x.encrypt_sectors(Lba{lba}, 512, v.data(), v.data(), n)
                      : x.decrypt_sectors(Lba{lba}, 512, v.data(), v.data(), n),
              Status::Ok);
    return v;
}

inline std::vector<u8> cdb10(u8 op, u32 lba, u16 blocks) {
    return {op, 0, static_cast<u8>(lba >> 24), static_cast<u8>(lba >> 16), static_cast<u8>(lba >> 8),
            static_cast<u8>(lba), 0, static_cast<u8>(blocks >> 8), static_cast<u8>(blocks), 0};
}

class EhciMassStorage : public ::testing::Test, public StickBus {
  protected:
    void SetUp() override {
        no_keys();
        ASSERT_TRUE(start());
    }

    void control_in(u64 setup, u32 len) {
        ASSERT_TRUE(f.g.write(Gpa{kSetupBuf}, &setup, 8));
        auto at = queue(ctl, {{QtdPid::Setup, kSetupBuf, 8}, {QtdPid::In, kDescBuf, len}, {QtdPid::Out, 0, 0}});
        step();
        ASSERT_TRUE(done(at[2])) << "control transfer " << std::hex << setup << " did not complete";
    }
    void control_out(u64 setup) {
        ASSERT_TRUE(f.g.write(Gpa{kSetupBuf}, &setup, 8));
        queue(ctl, {{QtdPid::Setup, kSetupBuf, 8}, {QtdPid::In, 0, 0}});
        step();
    }
    // SET_ADDRESS 2 sent to address 0, as Linux resets a device (or addresses a new one).
    void set_address() {
        Qh& q = *reinterpret_cast<Qh*>(f.g.ram.data() + kCtlQh);
        q.epchar &= ~0x7Fu;
        control_out(0x0000000000020500);
        q.epchar |= kAddr;
    }
    void enumerate() {
        control_in(0x0012000001000680, 18);
        control_in(0x0020000002000680, 32);
        control_in(0x00FF040903030680, 255);
        control_out(0x0000000000010900);
    }

    // One Bulk-Only command as usb-storage sends it: CBW, data stage (pieces of at most
    // `piece` bytes), CSW; each a transfer of its own. Returns the CSW.
    Csw command(u32 tag, std::vector<u8> const& cdb, bool data_in, u32 len, u32 buf = kData, u32 piece = 16384,
                u8 lun = 0) {
        Cbw w{kCbwSignature, tag, len, static_cast<u8>(data_in ? 0x80 : 0), lun, static_cast<u8>(cdb.size()), {}};
        memcpy(w.cb, cdb.data(), cdb.size());
        EXPECT_TRUE(f.g.write(Gpa{kCbwBuf}, &w, sizeof w));
        queue(out, {{QtdPid::Out, kCbwBuf, kCbwBytes}});
        step();
        if (len) {
            std::vector<Td> tds;
            for (u32 off = 0; off < len; off += piece) tds.push_back({data_in ? QtdPid::In : QtdPid::Out, buf + off, std::min(piece, len - off)});
            data_tds = queue(data_in ? in : out, tds);
            step();
        }
        Csw s{};
        EXPECT_TRUE(f.g.write(Gpa{kCswBuf}, &s, sizeof s));
        csw_td = queue(in, {{QtdPid::In, kCswBuf, kCswBytes}})[0];
        step();
        EXPECT_TRUE(f.g.read(Gpa{kCswBuf}, &s, sizeof s));
        return s;
    }
    void capacity() { EXPECT_EQ(command(1, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 8).status, 0); }
    void capacity_refused() { EXPECT_EQ(command(1, {0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0}, true, 8).status, 1); }
    std::vector<u8> sense() {
        std::vector<u8> s(18);
        EXPECT_EQ(command(99, {0x03, 0, 0, 0, 18, 0}, true, 18).status, 0);
        EXPECT_TRUE(f.g.read(Gpa{kData}, s.data(), 18));
        return s;
    }
    std::vector<u8> guest(u32 at, u32 n) {
        std::vector<u8> v(n);
        EXPECT_TRUE(f.g.read(Gpa{at}, v.data(), n));
        return v;
    }
    bool refused_with(char const* what) const {
        for (auto const& r : f.refusals)
            if (r.find(what) != std::string::npos) return true;
        return false;
    }
    bool noted(char const* what) const {
        for (auto const& n : f.notes)
            if (n.find(what) != std::string::npos) return true;
        return false;
    }

    std::vector<u32> data_tds;
    u32 csw_td{0};
};

}  // namespace tv::usb::test
