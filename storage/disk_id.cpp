#include "storage/disk_id.hpp"

namespace tv::storage {

DiskId ata_disk_id(char const (&raw)[kAtaSerialBytes]) {
    char text[kAtaSerialBytes];
    for (u32 i = 0; i < kAtaSerialBytes; i += 2) {
        text[i] = raw[i + 1];
        text[i + 1] = raw[i];
    }
    DiskId id{Bus::Ata, {}};
    if (!ok(crypto::make_serial(text, kAtaSerialBytes, id.serial))) id.serial = crypto::DiskSerial{};
    return id;
}

}  // namespace tv::storage
