#include "core/log_ring.hpp"

#include <string.h>

namespace tv {

void LogRing::init(char* storage, u64 capacity) {
    u64 cap = storage != nullptr ? capacity : 0;
    while ((cap & (cap - 1)) != 0)  // clear low bits until one is left
        cap &= cap - 1;
    storage_ = cap != 0 ? storage : nullptr;
    mask_ = cap != 0 ? cap - 1 : 0;
    total_ = 0;
}

void LogRing::write(char const* s, u64 n) {
    u64 const cap = capacity();
    u64 const skip = n > cap ? n - cap : 0;  // bytes that would be overwritten by this write
    u64 pos = total_ + skip;
    total_ += n;
    s += skip;
    n -= skip;
    while (n > 0) {
        u64 const slot = pos & mask_;
        u64 const chunk = n < cap - slot ? n : cap - slot;
        memcpy(storage_ + slot, s, chunk);
        s += chunk;
        pos += chunk;
        n -= chunk;
    }
}

u64 LogRing::read(u64 offset, char* out, u64 n) const {
    if (offset < oldest() || offset >= total_)
        return 0;
    u64 const avail = total_ - offset;
    u64 const count = n < avail ? n : avail;
    u64 const cap = capacity();
    for (u64 done = 0; done < count;) {
        u64 const slot = (offset + done) & mask_;
        u64 const left = count - done;
        u64 const chunk = left < cap - slot ? left : cap - slot;
        memcpy(out + done, storage_ + slot, chunk);
        done += chunk;
    }
    return count;
}

}  // namespace tv
