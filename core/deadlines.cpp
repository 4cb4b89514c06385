#include "core/deadlines.hpp"

namespace tv {

bool Deadlines::add(Job job, u64 period_us, u64 now_us) {
    if (count_ == kMaxJobs || !job || period_us == 0) return false;
    jobs_[count_++] = Entry{job, period_us, now_us + period_us};
    return true;
}

u64 Deadlines::next_us() const {
    u64 next = kNone;
    for (u32 i = 0; i < count_; ++i)
        if (jobs_[i].due_us < next) next = jobs_[i].due_us;
    return next;
}

u32 Deadlines::run_due(u64 now_us) {
    u32 ran = 0;
    for (u32 i = 0; i < count_; ++i) {
        Entry& e = jobs_[i];
        if (e.due_us > now_us) continue;
        u64 const late = now_us - e.due_us;
        if (late > max_late_us_) max_late_us_ = late;
        if (late > kLateUs) ++late_runs_;
        ++buckets_[late <= 1'000 ? 0 : late <= kLateUs ? 1 : late <= 50'000 ? 2 : 3];
        e.due_us += e.period_us;
        if (e.due_us <= now_us) e.due_us = now_us + e.period_us;
        ++runs_;
        ++ran;
        e.job();  // last: a job may read the table (next_us) but never changes it
    }
    return ran;
}

}  // namespace tv
