// Words of monitor memory the EHCI controller reads and writes while the monitor does: each is
// loaded and stored whole (the controller writes a token or an overlay word at any time), and
// a fence orders a qTD's other words before its token and a QH before the link to it.
#pragma once

#include "core/types.hpp"

namespace tv::usb {

inline u32 dev_load(u32 const* p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
inline void dev_store(u32* p, u32 v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
inline void dev_fence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

}  // namespace tv::usb
