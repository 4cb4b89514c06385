// Which key protects which sectors: the decision table of the storage pipeline (storage/
// key_table keeps one per bus; every seal and unseal of a run of sectors asks it).
//
// A disk is known by its IDENTIFY serial number (words 10-19), which the monitor reads before
// the guest does. A listed disk is encrypted as a whole with one key, except for plaintext
// ranges (e.g. a partition shared with another system) that pass through unchanged. A disk
// that is not listed is refused by default ("Deny": a forgotten disk is never written in
// plaintext by accident) unless set_unlisted(Plaintext) says otherwise. A disk listed with the
// serial "*" stands for every disk not listed by its own serial.
//
// Pure and fixed-size (no heap, no hardware): host-tested, usable in the monitor. Keys are
// named by KeyId, an index into the caller's key table; the policy never holds key material.
#pragma once

#include "core/types.hpp"
#include "crypto/lba.hpp"

namespace tv::crypto {

inline constexpr u32 kSerialMax = 20;  // 10 IDENTIFY words of two ASCII characters

// A serial number as text, without the padding spaces ATA puts around it.
struct DiskSerial {
    char text[kSerialMax + 1]{};  // NUL-terminated
    u8 len{0};

    bool operator==(DiskSerial const& o) const;
};

// From text: leading and trailing spaces and NULs are trimmed. Invalid if nothing is left,
// more than kSerialMax characters remain, or a character is not printable ASCII.
[[nodiscard]] Status make_serial(char const* text, u64 n, DiskSerial& out);

// From a 256-word IDENTIFY (PACKET) DEVICE block: words 10-19, high byte of each word first.
[[nodiscard]] Status serial_from_identify(u16 const (&identify)[256], DiskSerial& out);

struct KeyId {
    u8 raw;
    constexpr bool operator==(KeyId const&) const = default;
};

enum class Treatment : u8 {
    Encrypt,    // XTS with the decision's key; the tweak is the LBA
    Plaintext,  // pass through unchanged
    Deny,       // refuse the command
};

struct Decision {
    Treatment treatment;
    KeyId key;    // meaningful for Encrypt only
    u64 sectors;  // how many sectors from the asked LBA on share this decision (<= the count asked)
};

class KeyPolicy final {
  public:
    static constexpr u32 kMaxDisks = 8;
    static constexpr u32 kMaxPlainRanges = 8;  // per disk

    // Exists if the serial is listed already, NoMemory if kMaxDisks are.
    [[nodiscard]] Status add_disk(DiskSerial const& serial, KeyId key);

    // Sectors [first, first + count) of a listed disk stay plaintext. NotFound for an unlisted
    // disk, Invalid for count 0 or a range past the last LBA, Exists if it overlaps another
    // plaintext range of the disk, NoMemory if the disk has kMaxPlainRanges already. A range
    // touching another one is merged with it.
    [[nodiscard]] Status add_plaintext_range(DiskSerial const& serial, Lba first, u64 count);

    // Plaintext or Deny for disks not listed; Invalid for Encrypt (there is no key to use).
    [[nodiscard]] Status set_unlisted(Treatment t);

    // The key of a listed disk (by its own serial or by "*"); false for a disk not listed.
    [[nodiscard]] bool key_of(DiskSerial const& serial, KeyId& out) const;

    // The treatment of sector lba of the disk and how far it extends, looking at most count
    // sectors ahead: a mediator splits a request at every change of treatment.
    [[nodiscard]] Decision decide(DiskSerial const& serial, Lba lba, u64 count) const;

  private:
    struct Range {
        u64 first;
        u64 last;  // inclusive, so a range may end at the largest LBA without overflow
    };
    struct Disk {
        DiskSerial serial;
        KeyId key;
        u32 ranges;
        Range plain[kMaxPlainRanges];
    };

    [[nodiscard]] Disk* find(DiskSerial const& serial);                // listed by exactly this serial
    [[nodiscard]] Disk const* match(DiskSerial const& serial) const;   // the entry that applies: own or "*"
    [[nodiscard]] static Decision decide_on(Disk const& d, u64 lba, u64 count);

    Disk disks_[kMaxDisks]{};
    u32 count_{0};
    Treatment unlisted_{Treatment::Deny};
};

}  // namespace tv::crypto
