// File protection on the IDE write path (storage/write_rule.hpp decides; this only fetches
// what it needs): before a DMA write that touches a policy range reaches the device, each
// touched sector's current content is read from the device by polling, with the interrupt
// masked, so that a write leaving the protected bytes as they are (an inode table, a
// directory block shared with other files) goes through.
#include "drivers/ide/ide_channel.hpp"

namespace tv::ata {

namespace {

bool wait_ready(IdeEnv& env, u16 ctrl, u8* status) {
    for (u32 i = 0; i < 200000; ++i) {
        *status = static_cast<u8>(env.port_in(ctrl, 1));
        if (!(*status & st::kBsy)) return true;
    }
    return false;
}

}  // namespace

// One sector, plaintext, into cur_. The guest's command is not on the device yet (DmaHeld):
// issue() loads its checked taskfile again afterwards, and the device control register
// gets back the guest's value.
bool IdeChannel::read_current(u8 dev, Lba lba) {
    u16 const cmd = ports_.cmd;
    u32 const ss = dev_[dev].crypt.sector_size();
    bool const ext = lba.raw >= (1ull << 28);
    u8 s = 0;
    out8(ports_.ctrl, static_cast<u8>(control_ | ide::kCtlNien));
    out8(static_cast<u16>(cmd + ide::kDevice),
         static_cast<u8>(0xA0 | ide::kDevLba | dev << 4 | (ext ? 0 : (lba.raw >> 24) & 0x0F)));
    bool good = wait_ready(*env_, ports_.ctrl, &s);
    if (good) {
        if (ext) {  // the high ("HOB") bytes first
            out8(static_cast<u16>(cmd + ide::kCount), 0);
            for (u8 r = 0; r < 3; ++r)
                out8(static_cast<u16>(cmd + ide::kLbaLow + r), static_cast<u8>(lba.raw >> (24 + 8 * r)));
        }
        out8(static_cast<u16>(cmd + ide::kCount), 1);
        for (u8 r = 0; r < 3; ++r) out8(static_cast<u16>(cmd + ide::kLbaLow + r), static_cast<u8>(lba.raw >> (8 * r)));
        out8(static_cast<u16>(cmd + ide::kCommand), ext ? cmd::kReadSectorsExt : cmd::kReadSectors);
        in8(ports_.ctrl);  // the 400 ns before status is valid
        good = wait_ready(*env_, ports_.ctrl, &s) && !(s & st::kErr) && (s & st::kDrq);
    }
    if (good) env_->port_in_words(cmd, reinterpret_cast<u16*>(cur_), ss / 2);
    in8(static_cast<u16>(cmd + ide::kStatus));  // acknowledges the device's interrupt
    out8(ports_.ctrl, control_);
    if (good && !ok(dev_[dev].crypt.decrypt(lba, cur_, 1))) good = false;
    if (!good)
        env_->log("%s.%u: sector %llu could not be read for the file-protection check", name_, dev,
                  static_cast<unsigned long long>(lba.raw));
    return good;
}

// The write's plaintext in `data`; false if the policy refuses it (the whole command).
bool IdeChannel::protect_write(u8 dev, Lba lba, u32 count, u8* data) {
    SectorCrypt& crypt = dev_[dev].crypt;
    u32 const ss = crypt.sector_size();
    for (u32 i = 0; i < count; ++i) {
        if (!crypt.write_touches_rules(lba + i, 1)) continue;
        u8 const* cur = read_current(dev, lba + i) ? cur_ : nullptr;  // unread: counts as changed
        if (!ok(crypt.check_write(lba + i, data + u64{i} * ss, 1, cur))) return false;
    }
    return true;
}

}  // namespace tv::ata
