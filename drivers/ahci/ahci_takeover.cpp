// Taking over a port the firmware left running, and identifying its disk before the guest
// runs. Used once per port at install.
#include <string.h>

#include "drivers/ahci/ahci_port.hpp"

namespace tv::ata::ahci {

namespace {
constexpr u32 kCmdFr = 1u << 14;
constexpr u32 kCmdCr = 1u << 15;
constexpr u32 kSpin = 2000000;  // register reads; far beyond the spec's 500 ms under emulation
constexpr u32 kTfdBsyDrq = 0x88;
constexpr u32 kTfdErr = 0x01;
}  // namespace

bool AhciPort::wait_cmd_clear(u32 bit) {
    for (u32 i = 0; i < kSpin; ++i)
        if (!(env_->dev_read(off(kPxCmd)) & bit)) return true;
    return false;
}

// Stop (ST, then FRE), point the HBA at our structures, restart as it was.
bool AhciPort::take_over() {
    u32 const cmd = env_->dev_read(off(kPxCmd));
    if (!(cmd & (kCmdSt | kCmdFre))) {
        program_device_bases();
        return true;
    }
    if (env_->dev_read(off(kPxCi)) || env_->dev_read(off(kPxSact))) return false;  // firmware is mid-command
    env_->dev_write(off(kPxCmd), cmd & ~kCmdSt);
    if (!wait_cmd_clear(kCmdCr)) return false;
    env_->dev_write(off(kPxCmd), cmd & ~(kCmdSt | kCmdFre));
    if (!wait_cmd_clear(kCmdFr)) return false;
    program_device_bases();
    env_->dev_write(off(kPxCmd), (cmd & ~kCmdSt) | (cmd & kCmdFre));
    env_->dev_write(off(kPxCmd), cmd);
    return true;
}

void AhciPort::attach_from_identify(u8 const* data) {
    u16 id[256];
    memcpy(id, data, sizeof id);
    char serial[kSerialBytes];
    identify_serial(id, serial);
    if (!ok(crypt_.attach(serial, logical_sector_size(id))))
        env_->note(index_, "IDENTIFY: unsupported logical sector size; media commands refused");
}

// Runs the port's engine for one polled command if the firmware left it stopped (UEFI's
// AHCI driver starts and stops it around every command), and restores PxCMD afterwards.
bool AhciPort::identify_now() {
    u32 const cmd = env_->dev_read(off(kPxCmd));
    if (active_ || env_->dev_read(off(kPxCi))) return false;
    if ((env_->dev_read(off(kPxSsts)) & 0xF) != 3) return false;  // no device, no link
    if (env_->dev_read(off(kPxTfd)) & kTfdBsyDrq) return false;
    if (env_->dev_read(off(kPxSig)) != 0x00000101) return false;  // not an ATA disk
    bool const was_stopped = !(cmd & kCmdSt);
    if (was_stopped) {
        program_device_bases();
        env_->dev_write(off(kPxCmd), cmd | kCmdFre);
        env_->dev_write(off(kPxCmd), cmd | kCmdFre | kCmdSt);
    }
    bool const good = identify_polled();
    if (was_stopped) {
        env_->dev_write(off(kPxCmd), cmd | kCmdFre);
        if (!wait_cmd_clear(kCmdCr)) return false;
        env_->dev_write(off(kPxCmd), cmd);
        if (!(cmd & kCmdFre) && !wait_cmd_clear(kCmdFr)) return false;
    }
    return good;
}

// IDENTIFY DEVICE in slot 0 of a started, idle port, polled; attaches the key.
bool AhciPort::identify_polled() {
    u32 page;
    if (!pool_->alloc(1, &page)) return false;
    FisH2d f{};
    f.type = kFisH2d;
    f.flags = kFisH2dCommand;
    f.command = cmd::kIdentify;
    f.device = 0xA0;
    CommandTableHead* t = reinterpret_cast<CommandTableHead*>(table_virt(0));
    memset(t, 0, kTableBytes);
    memcpy(t->cfis, &f, sizeof f);
    PrdEntry* p = reinterpret_cast<PrdEntry*>(table_virt(0) + sizeof *t);
    p[0] = PrdEntry{static_cast<u32>(pool_->dev(page).raw), static_cast<u32>(pool_->dev(page).raw >> 32), 0, 511};
    CommandHeader* h = shadow_header(0);
    *h = CommandHeader{};
    h->flags = sizeof(FisH2d) / 4;
    h->prdtl = 1;
    h->ctba = static_cast<u32>(table_dev(0).raw);
    h->ctbau = static_cast<u32>(table_dev(0).raw >> 32);
    u32 const is_before = env_->dev_read(off(kPxIs));
    env_->dev_write(off(kPxCi), 1);
    bool done = false;
    for (u32 i = 0; i < kSpin && !done; ++i) done = !(env_->dev_read(off(kPxCi)) & 1);
    bool const good = done && !(env_->dev_read(off(kPxTfd)) & kTfdErr);
    if (good) attach_from_identify(pool_->virt(page));
    // Leave no trace for the guest: clear the interrupt causes our command raised.
    env_->dev_write(off(kPxIs), env_->dev_read(off(kPxIs)) & ~is_before);
    pool_->release(page, 1);
    return good;
}

}  // namespace tv::ata::ahci
