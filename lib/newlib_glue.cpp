// The system calls newlib expects (x86_64-elf uses the unprefixed names), backed by the
// monitor: a fixed heap for sbrk, the log for stdout/stderr, and nothing else.
#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "core/log.hpp"
#include "core/memory.hpp"
#include "core/panic.hpp"
#include "core/smp.hpp"
#include "lib/spinlock.hpp"

#undef errno
extern "C" int errno;

namespace tv {
namespace {
char* g_heap_base;
char* g_heap_brk;
char* g_heap_end;
RecursiveLock g_malloc_lock;
}  // namespace

Status heap_init(u64 bytes) {
    Hpa h = alloc_pages(bytes / kPageSize);
    if (!h.raw) return Status::NoMemory;
    g_heap_base = g_heap_brk = static_cast<char*>(hpa_virt(h));
    g_heap_end = g_heap_base + bytes;
    return Status::Ok;
}
}  // namespace tv

extern "C" {

void* sbrk(ptrdiff_t incr) {
    using namespace tv;
    if (!g_heap_brk || incr > g_heap_end - g_heap_brk || incr < g_heap_base - g_heap_brk) {
        errno = ENOMEM;
        return reinterpret_cast<void*>(-1);
    }
    char* old = g_heap_brk;
    g_heap_brk += incr;
    return old;
}

void __malloc_lock(struct _reent*) { tv::g_malloc_lock.lock(tv::this_cpu()); }
void __malloc_unlock(struct _reent*) { tv::g_malloc_lock.unlock(); }

int write(int fd, const void* buf, size_t n) {
    if (fd != 1 && fd != 2) {
        errno = EBADF;
        return -1;
    }
    tv::log("%.*s", static_cast<int>(n), static_cast<char const*>(buf));
    return static_cast<int>(n);
}

int read(int, void*, size_t) {
    errno = EBADF;
    return -1;
}
int close(int) {
    errno = EBADF;
    return -1;
}
off_t lseek(int, off_t, int) {
    errno = ESPIPE;
    return -1;
}
int fstat(int, struct stat* st) {
    st->st_mode = S_IFCHR;
    return 0;
}
int isatty(int fd) { return fd <= 2; }
int kill(int, int) {
    errno = EINVAL;
    return -1;
}
int getpid() { return 1; }
void _exit(int code) { tv::panic("exit(%d) called inside the monitor", code); }
void abort() { tv::panic("abort() called inside the monitor"); }

}  // extern "C"
