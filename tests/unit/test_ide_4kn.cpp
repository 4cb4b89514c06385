// 4096-byte logical sectors on IDE, beyond the unit tests of test_ide_pio/test_ide_shadow:
// what the mediator does with an IDENTIFY like Bochs 2.7's (sect_size=4096 reports word 106 =
// 0x6000, i.e. 512-byte logical sectors, yet moves 4096 bytes a sector), and that plaintext
// never reaches such a device whatever the guest writes.
#include <gtest/gtest.h>

#include <string.h>

#include <algorithm>

#include "tests/unit/test_ide_fake.hpp"

using namespace tv;
using namespace tv::ata;
using namespace idefake;

namespace {

// IDENTIFY as Bochs 2.7 answers for sect_size=4096: word 106 = 0x6000 (bit 12 clear, so
// 256-word logical sectors), words 117-118 = 2048 words all the same.
void bochs27_identify(u16 (&id)[256], char const* serial) {
    memset(id, 0, sizeof id);
    char padded[20];
    memset(padded, ' ', sizeof padded);
    memcpy(padded, serial, strlen(serial));
    for (int i = 0; i < 10; ++i) id[10 + i] = static_cast<u16>(padded[2 * i] << 8 | padded[2 * i + 1]);
    id[106] = 0x6000;
    id[117] = 2048;
}

// The fake device moves 4096 bytes a sector; the mediator attaches it from a Bochs 2.7
// IDENTIFY, as its probe would on Bochs.
void attach_bochs27(Rig& r) {
    u16 id[256];
    bochs27_identify(id, "QM00001");
    char raw[kSerialBytes];
    identify_serial(id, raw);
    ASSERT_EQ(r.ch.crypt(0).attach(raw, logical_sector_size(id)), Status::Ok);
}

bool contains(std::vector<u8> const& hay, std::vector<u8> const& needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

}  // namespace

// Linux 6.1 (ata_id_logical_sector_size: (word 106 & 0xd000) == 0x5000) reads Bochs 2.7's
// 0x6000 as 512-byte sectors; the mediator must read it the same way, or its data unit and the
// guest's sector numbers would disagree.
TEST(Ide4Kn, Bochs27IdentifyIsReadAs512ByteSectorsLikeLinux) {
    u16 id[256];
    bochs27_identify(id, "BXHD00021");
    EXPECT_EQ(logical_sector_size(id), 512u);
    id[106] = 0x5000;  // a real 4Kn disk (ACS-3: bit 12, words 117-118 valid)
    EXPECT_EQ(logical_sector_size(id), 4096u);
    id[106] = 0x7000;  // bit 13 (several logical per physical) does not matter for the size
    EXPECT_EQ(logical_sector_size(id), 4096u);
}

TEST(Ide4Kn, AKeyFor4096ByteUnitsRefusesABochs27Disk) {
    use_key(4096);
    Rig r(4096, false);
    attach_bochs27(r);
    EXPECT_EQ(r.ch.crypt(0).sector_size(), 512u);
    EXPECT_EQ(r.ch.crypt(0).policy(), DiskPolicy::Deny);
}

// A device that moves more data for a command than count x the IDENTIFY sector size: the words
// after the command's last mediated sector must not reach it in plaintext.
TEST(Ide4Kn, DataBeyondTheCommandsSectorsNeverReachesTheDiskInPlaintext) {
    use_key(512);
    Rig r(4096, false);
    attach_bochs27(r);
    ASSERT_EQ(r.ch.crypt(0).policy(), DiskPolicy::Encrypt);
    std::vector<u8> const plain = pattern(4096, 9);
    r.taskfile(3, 1, false);
    r.out(kCmd + 7, 1, cmd::kWriteSectors);
    for (size_t i = 0; i < plain.size(); i += 2) {
        u32 v = 0;
        memcpy(&v, plain.data() + i, 2);
        r.out(kCmd, 2, v);
    }
    std::vector<u8> const disk = disk_at(r, 3, 4096);
    std::vector<u8> const tail(plain.begin() + 512, plain.begin() + 512 + 64);
    EXPECT_FALSE(contains(disk, tail)) << "plaintext beyond the command's sector reached the disk";
}
