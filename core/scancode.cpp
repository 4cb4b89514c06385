#include "core/scancode.hpp"

namespace tv {

namespace {

// Index = make code of the US layout's first rows; 0 = no character.
constexpr char kPlain[0x3A] = {
    0,   0x1B, '1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '-',  '=', '\b', '\t',
    'q', 'w',  'e', 'r', 't', 'y', 'u', 'i', 'o', 'p', '[', ']', '\n', 0,   'a',  's',
    'd', 'f',  'g', 'h', 'j', 'k', 'l', ';', '\'', '`', 0,  '\\', 'z', 'x', 'c',  'v',
    'b', 'n',  'm', ',', '.', '/', 0,   '*', 0,   ' '};
constexpr char kShifted[0x3A] = {
    0,   0x1B, '!', '@', '#', '$', '%', '^', '&', '*', '(', ')', '_',  '+', '\b', '\t',
    'Q', 'W',  'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', '{', '}', '\n', 0,   'A',  'S',
    'D', 'F',  'G', 'H', 'J', 'K', 'L', ':', '"', '~', 0,   '|', 'Z', 'X', 'C',  'V',
    'B', 'N',  'M', '<', '>', '?', 0,   '*', 0,   ' '};

constexpr u8 kLeftShift = 0x2A;
constexpr u8 kRightShift = 0x36;
constexpr u8 kRelease = 0x80;
constexpr u8 kExtendedPrefix = 0xE0;
constexpr u8 kKeypadEnter = 0x1C;

}  // namespace

char ScancodeDecoder::feed(u8 code) {
    if (code == kExtendedPrefix) {
        extended_ = true;
        return 0;
    }
    bool extended = extended_;
    extended_ = false;
    bool release = code & kRelease;
    u8 key = code & static_cast<u8>(~kRelease);
    if (!extended && (key == kLeftShift || key == kRightShift)) {
        shift_ = !release;
        return 0;
    }
    if (release) return 0;
    if (extended) return key == kKeypadEnter ? '\n' : 0;  // arrows, keypad '/' etc. are ignored
    if (key >= sizeof kPlain) return 0;
    return shift_ ? kShifted[key] : kPlain[key];
}

}  // namespace tv
