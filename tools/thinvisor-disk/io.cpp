#include "tools/thinvisor-disk/io.hpp"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tv::disk {

int read_small_file(std::string const& path, u64 max, std::vector<u8>& out) {
    int const fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    out.assign(max + 1, 0);  // one extra byte tells "exactly max" from "longer"
    u64 got = 0;
    int err = 0;
    while (got < out.size()) {
        ssize_t const n = read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            err = errno;
        if (n <= 0)
            break;
        got += static_cast<u64>(n);
    }
    close(fd);
    if (err != 0)
        return err;
    out.resize(got);
    return got > max ? EFBIG : 0;
}

int pread_full(int fd, u8* buf, u64 n, u64 offset) {
    while (n > 0) {
        ssize_t const got = pread(fd, buf, n, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return errno;
        if (got == 0)
            return EIO;  // the file ended early
        buf += got;
        n -= static_cast<u64>(got);
        offset += static_cast<u64>(got);
    }
    return 0;
}

int pwrite_full(int fd, u8 const* buf, u64 n, u64 offset) {
    while (n > 0) {
        ssize_t const put = pwrite(fd, buf, n, static_cast<off_t>(offset));
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return put < 0 ? errno : EIO;
        buf += put;
        n -= static_cast<u64>(put);
        offset += static_cast<u64>(put);
    }
    return 0;
}

int sync_parent_dir(std::string const& path) {
    auto const slash = path.rfind('/');
    std::string const dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    int const fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    int const rc = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return rc;
}

int write_file_atomically(std::string const& path, u8 const* data, u64 n, unsigned mode,
                          std::string const& fixed_tmp) {
    bool const fixed = !fixed_tmp.empty();
    std::string const tmp = fixed ? fixed_tmp : path + ".tmp." + std::to_string(getpid());
    int const fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (fixed ? O_TRUNC : O_EXCL), mode);
    if (fd < 0)
        return errno;
    int rc = pwrite_full(fd, data, n, 0);
    if (rc == 0 && fsync(fd) != 0)
        rc = errno;
    close(fd);
    if (rc == 0 && rename(tmp.c_str(), path.c_str()) != 0)
        rc = errno;
    if (rc != 0) {
        unlink(tmp.c_str());
        return rc;
    }
    return sync_parent_dir(path);
}

int device_size(int fd, u64& size) {
    struct stat st{};
    if (fstat(fd, &st) != 0)
        return errno;
    if (S_ISREG(st.st_mode)) {
        size = static_cast<u64>(st.st_size);
        return 0;
    }
    if (S_ISBLK(st.st_mode))
        return ioctl(fd, BLKGETSIZE64, &size) == 0 ? 0 : errno;
    return EINVAL;
}

}  // namespace tv::disk
