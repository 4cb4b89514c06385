// The few C++ runtime pieces a freestanding, exception-free, RTTI-free monitor needs.
#include <stdlib.h>

#include "core/panic.hpp"

extern "C" {
void* __dso_handle = nullptr;
void __cxa_pure_virtual() { tv::panic("pure virtual function called"); }
// Static objects with destructors would register here; the monitor never exits, so they
// are deliberately never run.
int __cxa_atexit(void (*)(void*), void*, void*) { return 0; }
}

void* operator new(size_t n) {
    void* p = malloc(n);
    if (!p) tv::panic("out of monitor heap (%lu bytes)", static_cast<unsigned long>(n));  // newlib has no %zu
    return p;
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { free(p); }
void operator delete[](void* p) noexcept { free(p); }
void operator delete(void* p, size_t) noexcept { free(p); }
void operator delete[](void* p, size_t) noexcept { free(p); }
