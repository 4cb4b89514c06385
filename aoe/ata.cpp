#include "aoe/ata.hpp"

namespace tv::aoe {

namespace {

u16 word(u8 const* block, unsigned i) {  // IDENTIFY words are little-endian
    return static_cast<u16>(block[2 * i] | block[2 * i + 1] << 8);
}

// IDENTIFY strings hold two characters a word, the first in the high byte; trailing spaces
// are padding.
void copy_string(u8 const* block, unsigned first_word, unsigned words, char* out) {
    unsigned n = 0;
    for (unsigned i = 0; i < words; ++i) {
        u16 const w = word(block, first_word + i);
        out[n++] = static_cast<char>(w >> 8);
        out[n++] = static_cast<char>(w & 0xFF);
    }
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\0'))
        --n;
    for (unsigned i = 0; i < n; ++i)  // keep log lines printable whatever the target sends
        if (out[i] < 0x20 || out[i] > 0x7E)
            out[i] = '?';
    out[n] = '\0';
}

}  // namespace

Status parse_identify(u8 const* block, IdentifyInfo* out) {
    *out = IdentifyInfo{};
    u16 const w83 = word(block, 83);
    // Word 83 is valid when bit 14 is set and bit 15 clear; bit 10 announces LBA48.
    out->lba48 = (w83 & 0xC000) == 0x4000 && (w83 & (1u << 10)) != 0;
    u64 const lba28 = u64{word(block, 60)} | u64{word(block, 61)} << 16;
    u64 lba48 = 0;
    for (unsigned i = 0; i < 4; ++i)
        lba48 |= u64{word(block, 100 + i)} << (16 * i);
    if (lba48 > kLba48Limit)
        lba48 = kLba48Limit;
    out->sectors = out->lba48 && lba48 != 0 ? lba48 : lba28;
    copy_string(block, 27, 20, out->model);
    copy_string(block, 10, 10, out->serial);
    copy_string(block, 23, 4, out->firmware);
    return out->sectors != 0 ? Status::Ok : Status::Invalid;
}

}  // namespace tv::aoe
