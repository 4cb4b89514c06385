// Which disk a volume is: the bus it is reached through and the serial it reports. The same
// serial on two buses is two disks: a [disk.NAME] entry names its bus (docs/config.md), so a
// key made for a local ATA disk never lands on the AoE disk or the other way round.
// A USB stick is known by the serial string its device descriptor names (drivers/usb/
// usb_identity); its vendor and product choose the device policy ([usb]), not the key.
#pragma once

#include "core/types.hpp"
#include "crypto/key_policy.hpp"

namespace tv::storage {

enum class Bus : u8 {
    Ata,  // a local IDE or AHCI disk, known by its IDENTIFY serial
    Aoe,  // the emulated disk whose sectors live on the AoE target
    Usb,  // a USB mass-storage device (Bulk-Only Transport), known by its serial string
};
inline constexpr u32 kBusCount = 3;
// "ata", "aoe", "usb": as the configuration's disk entries and the policies name the bus.
constexpr char const* bus_name(Bus b) { return b == Bus::Aoe ? "aoe" : b == Bus::Usb ? "usb" : "ata"; }

struct DiskId {
    Bus bus;
    crypto::DiskSerial serial;  // empty (len 0) when the disk reported none: only "*" matches
};

inline constexpr u32 kAtaSerialBytes = 20;  // IDENTIFY words 10-19

// From the raw IDENTIFY serial bytes as the device sends them (the two characters of each
// word swapped). A serial that is blank or not printable leaves the id's serial empty.
DiskId ata_disk_id(char const (&raw)[kAtaSerialBytes]);

}  // namespace tv::storage
