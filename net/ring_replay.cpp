#include "net/ring_replay.hpp"

namespace tv::net {

u32 replay_ring_lines(LogRing const& ring, u64 upto, LineFn fn) {
    char line[512];
    size_t len = 0;
    u32 count = 0;
    u64 off = ring.oldest();
    // The byte before the oldest held one is gone: unless it was a newline, the first held
    // line lost its start.
    bool skipping = off != 0;
    if (upto > ring.total_written()) upto = ring.total_written();
    while (off < upto) {
        char chunk[256];
        u64 const want = upto - off < sizeof chunk ? upto - off : sizeof chunk;
        u64 const got = ring.read(off, chunk, want);
        if (got == 0) break;
        for (u64 i = 0; i < got; ++i) {
            if (chunk[i] != '\n') {
                if (len < sizeof line) line[len++] = chunk[i];
                continue;
            }
            if (!skipping) {
                fn(line, len);
                ++count;
            }
            skipping = false;
            len = 0;
        }
        off += got;
    }
    return count;
}

}  // namespace tv::net
