// Big-endian field access and a bounded writer for IKE messages. The writer never writes past
// its buffer: an overflow sets a flag that the caller checks once at the end.
#pragma once

#include "core/types.hpp"
#include "vpn/be.hpp"

namespace tv::vpn::ike {

// Short names over vpn/be.hpp, the one home of vpn/'s byte order; IKE adds 64-bit reads (SPIs).
inline u16 get16(u8 const* p) {
    return get_be16(p);
}
inline u32 get32(u8 const* p) {
    return get_be32(p);
}
inline u64 get64(u8 const* p) {
    return static_cast<u64>(get_be32(p)) << 32 | get_be32(p + 4);
}
inline void put16(u8* p, u16 v) {
    put_be16(p, v);
}
inline void put32(u8* p, u32 v) {
    put_be32(p, v);
}
inline void put64(u8* p, u64 v) {
    put_be64(p, v);
}

class Writer {
  public:
    Writer(u8* buf, size_t cap) : buf_{buf}, cap_{cap} {}

    // Reserves n bytes and returns them (nullptr after an overflow; the flag stays set).
    u8* take(size_t n) {
        if (overflow_ || n > cap_ - pos_) {
            overflow_ = true;
            return nullptr;
        }
        u8* p = buf_ + pos_;
        pos_ += n;
        return p;
    }
    void u8_(u8 v) {
        if (u8* p = take(1))
            *p = v;
    }
    void u16_(u16 v) {
        if (u8* p = take(2))
            put16(p, v);
    }
    void u32_(u32 v) {
        if (u8* p = take(4))
            put32(p, v);
    }
    void u64_(u64 v) {
        if (u8* p = take(8))
            put64(p, v);
    }
    void bytes(u8 const* src, size_t n) {
        if (u8* p = take(n))
            for (size_t i = 0; i < n; ++i)
                p[i] = src[i];
    }
    // Patches a 16-bit field written earlier (at an offset below pos()).
    void patch16(size_t at, u16 v) {
        if (!overflow_ && at + 2 <= pos_)
            put16(buf_ + at, v);
    }
    void patch8(size_t at, u8 v) {
        if (!overflow_ && at < pos_)
            buf_[at] = v;
    }
    size_t pos() const { return pos_; }
    bool overflow() const { return overflow_; }
    u8* data() { return buf_; }

  private:
    u8* buf_;
    size_t cap_;
    size_t pos_ = 0;
    bool overflow_ = false;
};

}  // namespace tv::vpn::ike
