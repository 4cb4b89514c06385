// Progress of a long conversion: a redrawn bar on a terminal, plain percentage lines
// otherwise (logs, pipes, tests), nothing with --quiet. On stderr, so stdout stays clean.
#pragma once

#include "core/types.hpp"

namespace tv::disk {

class Progress final {
  public:
    Progress(char const* what, u64 total, bool quiet);
    void update(u64 done);
    void finish();

  private:
    char const* what_;
    u64 total_;
    bool quiet_;
    bool tty_;
    int last_percent_{-1};
    double started_;
    double last_draw_{0};
    u64 first_done_{~0ull};  // where this run started (a resumed run starts in the middle)
};

}  // namespace tv::disk
