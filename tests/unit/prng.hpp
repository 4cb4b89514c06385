// A small deterministic generator for the property tests: the same seed gives the same
// sequence on every machine, so a failure can be replayed.
#pragma once

#include <stdint.h>

namespace tv::test {

class Prng {
  public:
    explicit Prng(uint64_t seed) : state_{seed} {}

    uint64_t next() {  // splitmix64
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }  // in [0, n)
    bool chance(uint64_t one_in) { return below(one_in) == 0; }

  private:
    uint64_t state_;
};

}  // namespace tv::test
