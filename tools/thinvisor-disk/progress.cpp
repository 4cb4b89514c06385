#include "tools/thinvisor-disk/progress.hpp"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

namespace tv::disk {

namespace {

double now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace

Progress::Progress(char const* what, u64 total, bool quiet)
    : what_{what}, total_{total}, quiet_{quiet}, tty_{isatty(STDERR_FILENO) == 1}, started_{now()} {}

void Progress::update(u64 done) {
    if (quiet_)
        return;
    if (first_done_ == ~0ull)
        first_done_ = done;
    int const percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
    if (!tty_) {
        if (percent != last_percent_)  // one line per percent: parsable, not flooding a log
            fprintf(stderr, "%s: %d%%\n", what_, percent);
        last_percent_ = percent;
        return;
    }
    double const t = now();
    if (t - last_draw_ < 0.1 && done != total_)
        return;
    last_draw_ = t;
    constexpr int kWidth = 40;
    int const filled = percent * kWidth / 100;
    double const secs = t - started_;
    double const mib_s = secs > 0 ? static_cast<double>(done - first_done_) / secs / (1 << 20) : 0;
    fprintf(stderr, "\r%s [", what_);
    for (int i = 0; i < kWidth; ++i)
        fputc(i < filled ? '#' : '.', stderr);
    fprintf(stderr, "] %3d%%  %.1f MiB/s ", percent, mib_s);
    fflush(stderr);
}

void Progress::finish() {
    update(total_);
    if (!quiet_ && tty_)
        fputc('\n', stderr);
}

}  // namespace tv::disk
