// libFuzzer target for the AoE initiator's network input: with reads and writes in flight,
// the input is a script of arbitrary frames, mutated versions of the target's real answers,
// good answers and clock ticks. Checks after every step: every received frame is accounted
// for exactly once, the window holds, pending work always has a frame in flight (no stall
// waiting for a timer that is not set), no completion runs twice, write buffers stay untouched
// and nothing is written outside read buffers; at the end every request has completed.
// Built by `make aoe-fuzz` (mk/aoe.mk), run by `make aoe-fuzz-run`.
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <memory>

#include "tests/unit/test_aoe_fake.hpp"

using namespace tv;
using namespace tv::aoe;
using namespace tv::aoe::test;

namespace {

void check(bool ok, char const* what) {
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

struct Input {
    u8 const* p;
    size_t n;
    bool empty() const { return n == 0; }
    u8 byte() {
        if (n == 0)
            return 0;
        --n;
        return *p++;
    }
    u16 word() { return static_cast<u16>(byte() | byte() << 8); }
};

constexpr u8 kGuard = 0xA5;

// A request with a guard sector on each side of its buffer.
struct Req {
    Completion c;
    Bytes mem;
    Bytes original;
    bool write{false};
    u32 count{0};

    u8* buf() { return mem.data() + kSectorSize; }
    // Byte i of a buffer is i * 13 + seed (mod 256). 13 is odd, so that is byte i + seed * 197
    // of the seed-0 pattern (197 = 13^-1 mod 256): one copy from a table built once, not a
    // loop per byte under coverage instrumentation.
    void init(bool w, u32 n, u8 seed) {
        write = w;
        count = n;
        mem.assign((n + 2) * kSectorSize, kGuard);
        memcpy(buf(), pattern() + static_cast<u8>(seed * 197u), n * kSectorSize);
        original = mem;
    }
    void verify() const {
        check(c.calls <= 1, "a completion ran twice");
        check(memcmp(mem.data(), guard(), kSectorSize) == 0 &&
                  memcmp(mem.data() + mem.size() - kSectorSize, guard(), kSectorSize) == 0,
              "wrote outside a buffer");
        check(!write || mem == original, "a write buffer was modified");
    }
    static constexpr u32 kMaxSectors = 20;
    static u8 const* pattern() {
        static u8 const* p = [] {
            static u8 t[kMaxSectors * kSectorSize + 256];
            for (size_t i = 0; i < sizeof t; ++i)
                t[i] = static_cast<u8>(i * 13);
            return t;
        }();
        return p;
    }
    static u8 const* guard() {
        static u8 const* g = [] {
            static u8 t[kSectorSize];
            memset(t, kGuard, sizeof t);
            return t;
        }();
        return g;
    }
};

struct Harness {
    Rig g{64};
    Req reqs[24];
    size_t used{0};
    std::vector<Bytes> history;  // frames the initiator sent, newest last

    void submit(Input& in) {
        if (used == sizeof reqs / sizeof reqs[0])
            return;
        Req& r = reqs[used];
        u8 const sel = in.byte();
        u32 const n = 1 + sel % Req::kMaxSectors;
        r.init((sel & 0x80) != 0, n, sel);
        u64 const lba = in.byte() % 64;
        if (ok(g.ini.submit(IoRequest{r.write ? Op::Write : Op::Read, lba, n, r.buf(),
                                      &Completion::done, &r.c})))
            ++used;
    }

    void collect() {
        for (Bytes& f : g.take_sent()) {
            history.push_back(std::move(f));
            if (history.size() > 64)
                history.erase(history.begin());
        }
    }

    Bytes answer_of(Input& in) {
        if (history.empty())
            return {};
        return g.target.answer(history[in.byte() % history.size()]);
    }

    void mutate(Input& in) {
        Bytes f = answer_of(in);
        if (f.empty())
            f.assign(kAtaHeaderLen, 0);
        for (int k = in.byte() % 6; k > 0; --k) {
            u16 const at = in.word();
            f[at % f.size()] = in.byte();
        }
        u8 const resize = in.byte();
        if (resize < 16)
            f.resize(resize < 8 ? f.size() / (resize + 1) : f.size() + (resize - 7u) * 64u, 0);
        g.deliver(f);
    }

    void raw(Input& in) {
        size_t const len = in.word() % 1600;
        Bytes f;
        while (f.size() < len && !in.empty())
            f.push_back(in.byte());
        g.deliver(f);
    }

    void step(Input& in) {
        switch (in.byte() % 6) {
        case 0: raw(in); break;
        case 1: mutate(in); break;
        case 2: g.advance(u64{in.byte()} * 1'000); break;
        case 3: {
            Bytes const a = answer_of(in);
            if (!a.empty())
                g.deliver(a);
            break;
        }
        case 4: submit(in); break;
        case 5: g.deliver(g.target.announcement(in.byte() & 1)); break;
        }
        collect();
        check(g.accounting_balances(), "frame accounting");
        check(g.ini.in_flight() <= g.ini.window(), "window");
        check(g.ini.pending_requests() == 0 || g.ini.in_flight() > 0, "pending work stalled");
        for (size_t i = 0; i < used; ++i)
            reqs[i].verify();
    }

    void finish() {
        // Jump from timer to timer past every deadline (one frame at a time once the window
        // has collapsed): whatever is still pending must fail now.
        for (int i = 0; i < 100'000 && g.ini.in_flight() != 0; ++i) {
            u64 const t = g.ini.next_timer_us();
            check(t != ~0ull, "frames in flight without a timer");
            g.advance(t > g.clock.now ? t - g.clock.now : 0);
            g.take_sent();
        }
        check(g.ini.in_flight() == 0, "frames in flight after the deadline");
        for (size_t i = 0; i < used; ++i) {
            reqs[i].verify();
            check(reqs[i].c.calls == 1, "a request never completed");
        }
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(uint8_t const* data, size_t size) {
    Input in{data, size};
    auto h = std::make_unique<Harness>();
    u8 const setup = in.byte();
    static constexpr u32 kMtus[] = {1500, 548, 4000, 9000};
    h->g.cfg.mtu = kMtus[setup & 3];
    h->g.cfg.always_lba48 = (setup & 4) != 0;
    h->g.cfg.max_window = setup >> 4;
    h->g.cfg.deadline_us = 2'000'000;
    h->g.target.max_sectors = static_cast<u8>(setup & 8 ? 17 : 2);
    h->g.target.buffer_count = static_cast<u16>(1 + (setup >> 5));
    if ((setup & 0x80) != 0) {  // fuzz from the very start: discovery and IDENTIFY too
        check(ok(h->g.init()), "init");
        h->g.ini.start();
    } else {
        check(h->g.bring_up(), "bring-up");
        for (int i = 0; i < 3; ++i)
            h->submit(in);
    }
    h->collect();
    while (!in.empty())
        h->step(in);
    h->finish();
    return 0;
}
