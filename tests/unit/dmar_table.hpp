// A DMAR table builder for the DMAR parser's tests and its fuzzer's seeds.
#pragma once

#include <string.h>

#include <vector>

#include "core/types.hpp"

namespace tv::test {

class DmarTable {
  public:
    explicit DmarTable(u8 width_minus_1 = 38, u8 flags = 1) : b_(48, 0) {
        memcpy(b_.data(), "DMAR", 4);
        b_[36] = width_minus_1;
        b_[37] = flags;
        fix();
    }
    DmarTable& drhd(u64 base, bool include_all, u16 segment = 0, std::vector<u8> scopes = {}) {
        std::vector<u8> s(16, 0);
        s[4] = include_all ? 1 : 0;
        put16(s, 6, segment);
        put64(s, 8, base);
        s.insert(s.end(), scopes.begin(), scopes.end());
        return add(0, s);
    }
    DmarTable& rmrr(u64 base, u64 limit, std::vector<u8> scopes = {}) {
        std::vector<u8> s(24, 0);
        put64(s, 8, base);
        put64(s, 16, limit);
        s.insert(s.end(), scopes.begin(), scopes.end());
        return add(1, s);
    }
    // A structure of any type, its length field as given (0: the real length).
    DmarTable& add(u16 type, std::vector<u8> s, u16 length = 0) {
        put16(s, 0, type);
        put16(s, 2, length ? length : static_cast<u16>(s.size()));
        b_.insert(b_.end(), s.begin(), s.end());
        fix();
        return *this;
    }
    // A PCI endpoint scope: type 1, bus, one (device, function) path element.
    static std::vector<u8> endpoint(u8 bus, u8 dev, u8 fn) { return {1, 8, 0, 0, 0, bus, dev, fn}; }
    std::vector<u8> const& bytes() const { return b_; }

  private:
    static void put16(std::vector<u8>& v, size_t at, u16 x) { v[at] = static_cast<u8>(x), v[at + 1] = static_cast<u8>(x >> 8); }
    static void put64(std::vector<u8>& v, size_t at, u64 x) {
        for (int i = 0; i < 8; ++i) v[at + static_cast<size_t>(i)] = static_cast<u8>(x >> (8 * i));
    }
    void fix() {
        u32 const n = static_cast<u32>(b_.size());
        for (int i = 0; i < 4; ++i) b_[4 + static_cast<size_t>(i)] = static_cast<u8>(n >> (8 * i));
    }
    std::vector<u8> b_;
};

}  // namespace tv::test
