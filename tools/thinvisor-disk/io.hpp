// Small POSIX file helpers for thinvisor-disk. Each returns 0 or an errno value.
#pragma once

#include <string>
#include <vector>

#include "core/types.hpp"

namespace tv::disk {

// The whole file, refusing (EFBIG) one longer than max bytes; out then holds its first max + 1
// bytes, enough for a caller to say what kind of file it is.
int read_small_file(std::string const& path, u64 max, std::vector<u8>& out);

// Writes a temporary file next to path, fsyncs it, renames it over path and fsyncs the
// directory: afterwards path holds either the old or the new contents, never a mixture.
// The temporary file is path.tmp.PID, or tmp if given (for a caller that holds a lock, so
// that a crashed run's leftover is simply overwritten).
int write_file_atomically(std::string const& path, u8 const* data, u64 n, unsigned mode,
                          std::string const& tmp = {});

int pread_full(int fd, u8* buf, u64 n, u64 offset);
int pwrite_full(int fd, u8 const* buf, u64 n, u64 offset);

// fsync of the directory holding path (makes a create, rename or unlink durable).
int sync_parent_dir(std::string const& path);

// Size in bytes of a regular file or block device open as fd.
int device_size(int fd, u64& size);

}  // namespace tv::disk
