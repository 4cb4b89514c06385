// Both backends apply the one MSR policy: SVM's MSRPM and VMX's MSR bitmap are default-deny,
// open exactly the policy's direct reads and writes, and close again what the core claims.
#include <gtest/gtest.h>

#include <vector>

#include "core/arch/x86/svm/svm_msrpm.hpp"
#include "core/arch/x86/vmx/vmx_msr_bitmap.hpp"
#include "core/handlers/msr_policy.hpp"

using namespace tv;

namespace {

struct Maps {
    std::vector<u8> msrpm = std::vector<u8>(svm::kMsrpmSize);
    vmx::MsrBitmap* bitmap = new vmx::MsrBitmap{};
    explicit Maps(InterceptSet const& set) {
        svm::build_msrpm(msrpm.data(), set);
        vmx::build_msr_bitmap(bitmap, set);
    }
    ~Maps() { delete bitmap; }
    Maps(Maps const&) = delete;
    Maps& operator=(Maps const&) = delete;

    bool svm_exits(u32 msr, bool write) const {
        u32 bit;
        if (!svm::msrpm_slot(msr, &bit)) return true;
        bit += write ? 1 : 0;
        return msrpm[bit / 8] & (1u << (bit % 8));
    }
    bool vmx_exits(u32 msr, bool write) const { return vmx::msr_bitmap_exits(*bitmap, msr, write); }
};

InterceptSet claims(std::initializer_list<u32> msrs) {
    InterceptSet s;
    for (u32 m : msrs) EXPECT_TRUE(s.add_msr(m));
    return s;
}

}  // namespace

TEST(MsrBitmaps, UnlistedAndRefusedMsrsExitOnBothVendors) {
    Maps const m{claims({})};
    for (u32 msr : {0x1A2u, 0x1A0u, 0x79u, 0x10u, 0x480u, 0x3Au, 0xC0000080u, 0xC0010010u, 0xC001001Au, 0xC0010114u,
                    0xC0010117u, 0xC0011FFFu, 0x40000000u}) {
        EXPECT_TRUE(m.svm_exits(msr, true)) << std::hex << msr;
        EXPECT_TRUE(m.vmx_exits(msr, true)) << std::hex << msr;
    }
    for (u32 msr : {0x1A2u, 0x79u, 0x3Au, 0x480u, 0xC0000080u, 0xC0010114u, 0xC0010117u}) {  // not direct reads
        EXPECT_TRUE(m.svm_exits(msr, false)) << std::hex << msr;
        EXPECT_TRUE(m.vmx_exits(msr, false)) << std::hex << msr;
    }
}

TEST(MsrBitmaps, DirectEntriesNeverExitWhereTheBitmapCoversThem) {
    Maps const m{claims({})};
    for (u32 msr : {0x174u, 0x277u, 0x6E0u, 0x802u, 0x8FFu, 0xC0000081u, 0xC0000100u, 0xC0000102u, 0xC0000103u}) {
        for (bool write : {false, true}) {
            EXPECT_FALSE(m.svm_exits(msr, write)) << std::hex << msr << write;
            EXPECT_FALSE(m.vmx_exits(msr, write)) << std::hex << msr << write;
        }
    }
}

TEST(MsrBitmaps, CheckedMsrsReadDirectlyAndExitOnWrite) {
    Maps const m{claims({})};
    for (u32 msr : {0x1Bu, 0x200u, 0x2FFu, 0x8Bu, 0x10u, 0xFEu}) {
        EXPECT_FALSE(m.svm_exits(msr, false)) << std::hex << msr;
        EXPECT_TRUE(m.svm_exits(msr, true)) << std::hex << msr;
        EXPECT_FALSE(m.vmx_exits(msr, false)) << std::hex << msr;
        EXPECT_TRUE(m.vmx_exits(msr, true)) << std::hex << msr;
    }
    EXPECT_FALSE(m.svm_exits(0xC0010015, false));  // HWCR: SVM's third range covers it
    EXPECT_TRUE(m.vmx_exits(0xC0010015, false));   // VMX has no such range: it always exits
}

TEST(MsrBitmaps, MsrsTheCoreClaimsExitEvenWhenThePolicyIsDirect) {
    Maps const m{claims({0x830, 0x277})};
    for (u32 msr : {0x830u, 0x277u}) {
        for (bool write : {false, true}) {
            EXPECT_TRUE(m.svm_exits(msr, write)) << std::hex << msr;
            EXPECT_TRUE(m.vmx_exits(msr, write)) << std::hex << msr;
        }
    }
    EXPECT_FALSE(m.svm_exits(0x831, true));
    EXPECT_FALSE(m.vmx_exits(0x82F, true));
}
