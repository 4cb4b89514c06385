// An IVRS table builder for the IVRS parser's tests and its fuzzer's seeds.
#pragma once

#include <string.h>

#include <vector>

#include "core/types.hpp"

namespace tv::test {

class IvrsTable {
  public:
    explicit IvrsTable(u32 ivinfo = 40u << 8) : b_(48, 0) {
        memcpy(b_.data(), "IVRS", 4);
        put(b_, 36, ivinfo, 4);
        fix();
    }
    // An IVHD block (type 0x10: 24-byte header, 0x11/0x40: 40) followed by `entries`.
    IvrsTable& ivhd(u8 type, u64 base, u16 devid, std::vector<u8> entries, u16 segment = 0, u16 length = 0) {
        std::vector<u8> s(type == 0x10 ? 24 : 40, 0);
        s[0] = type;
        s[1] = 0xD1;
        put(s, 4, devid, 2);
        put(s, 6, 0x40, 2);
        put(s, 8, base, 8);
        put(s, 16, segment, 2);
        s.insert(s.end(), entries.begin(), entries.end());
        put(s, 2, length ? length : s.size(), 2);
        return raw(s);
    }
    // An IVMD block of type 0x20-0x22.
    IvrsTable& ivmd(u8 type, u64 start, u64 size) {
        std::vector<u8> s(32, 0);
        s[0] = type;
        put(s, 2, 32, 2);
        put(s, 16, start, 8);
        put(s, 24, size, 8);
        return raw(s);
    }
    IvrsTable& raw(std::vector<u8> const& s) {
        b_.insert(b_.end(), s.begin(), s.end());
        fix();
        return *this;
    }
    // Device entries.
    static std::vector<u8> e4(u8 type, u16 devid) { return {type, static_cast<u8>(devid), static_cast<u8>(devid >> 8), 0}; }
    static std::vector<u8> e8(u8 type, u16 devid, u16 alias = 0) {
        return {type, static_cast<u8>(devid), static_cast<u8>(devid >> 8), 0, 0, static_cast<u8>(alias),
                static_cast<u8>(alias >> 8), 0};
    }
    static std::vector<u8> cat(std::initializer_list<std::vector<u8>> parts) {
        std::vector<u8> v;
        for (auto const& p : parts) v.insert(v.end(), p.begin(), p.end());
        return v;
    }
    std::vector<u8> const& bytes() const { return b_; }

  private:
    static void put(std::vector<u8>& v, size_t at, u64 x, int n) {
        for (int i = 0; i < n; ++i) v[at + static_cast<size_t>(i)] = static_cast<u8>(x >> (8 * i));
    }
    void fix() { put(b_, 4, b_.size(), 4); }
    std::vector<u8> b_;
};

}  // namespace tv::test
